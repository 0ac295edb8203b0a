#include "fmnist/image/image.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

// A light 10x6 (h x w) block on black at (top, left) of a 40x40 image, as uint8 HWC.
torch::Tensor light_block(std::int64_t top, std::int64_t left, int channels = 1) {
  torch::Tensor image = torch::zeros({40, 40, channels}, torch::kUInt8);
  image.slice(0, top, top + 10).slice(1, left, left + 6).fill_(255);
  return image;
}

std::string decode_error(const std::string& bytes) {
  try {
    decode_image(bytes, "photo.png");
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

// Bounding box of pixels above 0.5: {top, bottom, left, right}, inclusive.
std::vector<std::int64_t> box(const torch::Tensor& image) {
  torch::Tensor mask = image.squeeze(0) > 0.5;
  torch::Tensor rows = mask.any(1).nonzero(), cols = mask.any(0).nonzero();
  return {rows[0].item<std::int64_t>(), rows[-1].item<std::int64_t>(), cols[0].item<std::int64_t>(),
          cols[-1].item<std::int64_t>()};
}

TEST(ImageTest, DecodesGrayPng) {
  torch::Tensor gray = decode_image(testing::png_bytes(light_block(5, 5)), "x.png");
  EXPECT_EQ(gray.sizes(), (std::vector<std::int64_t>{40, 40}));
  EXPECT_FLOAT_EQ(gray[5][5].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(gray[0][0].item<float>(), 0.0f);
}

TEST(ImageTest, RgbaIsCompositedOverWhite) {
  torch::Tensor rgba = torch::zeros({4, 4, 4}, torch::kUInt8);  // black, fully transparent
  rgba[1][1] = torch::tensor({0, 0, 0, 255}, torch::kUInt8);    // one opaque black pixel
  torch::Tensor gray = decode_image(testing::png_bytes(rgba), "x.png");
  EXPECT_FLOAT_EQ(gray[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(gray[1][1].item<float>(), 0.0f);
}

// A white item on a transparent background stays visible: the alpha channel is its mask.
TEST(ImageTest, LightItemOnTransparencyIsCompositedOverBlack) {
  torch::Tensor rgba = torch::zeros({40, 40, 4}, torch::kUInt8);
  rgba.slice(0, 10, 30).slice(1, 15, 25).fill_(255);  // opaque white block
  torch::Tensor gray = decode_image(testing::png_bytes(rgba), "x.png");
  EXPECT_FLOAT_EQ(gray[0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(gray[20][20].item<float>(), 1.0f);
  torch::Tensor input = preprocess_image(gray, "x.png");
  EXPECT_GT(input[0][14][14].item<float>(), 0.9f);
  EXPECT_LT(input[0][0][0].item<float>(), 0.05f);
}

// Light on light: a white item on a light-grey page is lighter than its background, so it is
// not inverted (which made an outline of it); the page becomes black.
TEST(ImageTest, LightItemOnLightBackgroundIsNotInverted) {
  torch::Tensor photo = torch::full({40, 40, 1}, 200, torch::kUInt8);
  photo.slice(0, 10, 30).slice(1, 15, 25).fill_(255);
  torch::Tensor input = preprocess_image(decode_image(testing::png_bytes(photo), "x.png"), "x.png");
  EXPECT_GT(input[0][14][14].item<float>(), 0.9f);
  EXPECT_LT(input[0][0][0].item<float>(), 0.05f);
}

TEST(ImageTest, DecodesSixteenBitAndPalettePngs) {
  std::string rows16;
  for (int i = 0; i < 4; ++i) rows16 += std::string("\xff\xff\x00\x00", 4);
  torch::Tensor gray16 = decode_image(testing::raw_png_bytes(2, 4, 16, 0, rows16), "16.png");
  EXPECT_FLOAT_EQ(gray16[2][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(gray16[2][1].item<float>(), 0.0f);

  std::string palette("\x00\x00\x00\xff\xff\xff", 6);
  torch::Tensor indexed =
      decode_image(testing::raw_png_bytes(2, 2, 8, 3, std::string("\x00\x01\x01\x00", 4), palette),
                   "palette.png");
  EXPECT_FLOAT_EQ(indexed[0][1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(indexed[1][1].item<float>(), 0.0f);
}

TEST(ImageTest, AnimatedGifGivesFirstFrame) {
  // 6x6, frame 1: white square on black; frame 2: all white (made with ImageMagick).
  const unsigned char kGif[] = {
      0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x06, 0x00, 0x06, 0x00, 0xf0, 0x01, 0x00, 0x00, 0x00,
      0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x21, 0xff, 0x0b,
      0x4e, 0x45, 0x54, 0x53, 0x43, 0x41, 0x50, 0x45, 0x32, 0x2e, 0x30, 0x03, 0x01, 0x00, 0x00,
      0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x06, 0x00, 0x00, 0x02, 0x0a, 0x84, 0x0f,
      0xa1, 0x61, 0xcb, 0xb9, 0x5a, 0x44, 0xa6, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00,
      0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x06, 0x00, 0x80, 0xff, 0xff, 0xff,
      0x00, 0x00, 0x00, 0x02, 0x05, 0x84, 0x8f, 0xa9, 0xcb, 0x05, 0x00, 0x3b};
  torch::Tensor gray = decode_image(std::string(kGif, kGif + sizeof(kGif)), "anim.gif");
  EXPECT_FLOAT_EQ(gray[0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(gray[2][2].item<float>(), 1.0f);
  EXPECT_NO_THROW(preprocess_image(gray, "anim.gif"));
}

TEST(ImageTest, RejectsEmptyGarbageAndTruncatedFiles) {
  EXPECT_EQ(decode_error(""), "photo.png: file is empty");
  EXPECT_NE(decode_error("hello, world").find("not a readable image"), std::string::npos);
  std::string png = testing::png_bytes(light_block(5, 5));
  std::string message = decode_error(png.substr(0, png.size() / 2));
  EXPECT_NE(message.find("photo.png: "), std::string::npos) << message;
  // stb_image would decode the lost half of a JPEG as grey.
  std::string jpeg = testing::jpeg_bytes(light_block(5, 5, /*channels=*/3));
  EXPECT_EQ(decode_error(jpeg.substr(0, jpeg.size() - 2)),
            "photo.png: corrupt JPEG (truncated: no end-of-image marker)");
}

TEST(ImageTest, RejectsHugeDimensionsBeforeDecoding) {
  // A valid PNG header declaring 10000 x 10000 pixels, with one row of data.
  std::string png = testing::raw_png_bytes(10000, 1, 8, 0, std::string(10000, '\0'));
  png.replace(20, 4, std::string("\x00\x00\x27\x10", 4));  // IHDR height := 10000
  std::string message = decode_error(png);
  EXPECT_NE(message.find("10000x10000, more than"), std::string::npos) << message;
}

// Inputs the fuzzer found (tests/data/bad-images): each broke Debian 12's stb_image 2.27 or our
// checks. jpeg-undefined-huffman-table-oob-read.jpg made 2.27 read out of bounds; 2.30 decodes it
// to a blank image.
TEST(ImageTest, RejectsFuzzerFindingsWithImageError) {
  for (const char* name :
       {"bmp-negative-height-bypasses-pixel-cap.bmp", "hdr-truncated-rle-infinite-loop.hdr",
        "jpeg-undefined-huffman-table-oob-read.jpg", "pgm-header-int-overflow.pgm",
        "pgm-truncated-uninitialised-pixels.pgm", "pgm-zero-size-c10-indexerror.pgm",
        "png-idat-2gib-alloc.png", "psd-40-bytes-8192x8192.psd"}) {
    std::filesystem::path path = std::filesystem::path(FMNIST_TEST_DATA_DIR) / "bad-images" / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_THROW(preprocess_image(load_image(path), name), ImageError) << name;
  }
}

// Its DHT segment of 300 codes made stb_image 2.27 write out of bounds; 2.30 never reaches that
// segment and decodes the picture before it.
TEST(ImageTest, DecodesTheJpegWhoseExtraHuffmanTableBrokeStb227) {
  std::filesystem::path path = std::filesystem::path(FMNIST_TEST_DATA_DIR) /
                               "bad-images/jpeg-dht-over-256-codes-oob-write.jpg";
  EXPECT_EQ(load_image(path).sizes(), (std::vector<std::int64_t>{8, 10}));
}

TEST(ImageTest, LoadImageNamesMissingFilesAndDirectories) {
  testing::TempDir dir;
  EXPECT_THROW(load_image(dir / "none.png"), Error);
  try {
    load_image(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos);
  }
}

TEST(ImageTest, PreprocessCentresAndScalesTheItem) {
  torch::Tensor gray = decode_image(testing::png_bytes(light_block(2, 30)), "x.png");
  torch::Tensor input = preprocess_image(gray, "x.png");
  EXPECT_EQ(input.sizes(), (std::vector<std::int64_t>{1, 28, 28}));
  // 10x6 item: height fills 28 rows, width becomes round(6 * 2.8) = 17, centred with the odd
  // margin's extra pixel on the left, as in Fashion-MNIST.
  EXPECT_EQ(box(input), (std::vector<std::int64_t>{0, 27, 6, 22}));
  EXPECT_LE(input.max().item<float>(), 1.0f);
  EXPECT_GE(input.min().item<float>(), 0.0f);
}

TEST(ImageTest, PreprocessInvertsDarkItemOnWhite) {
  torch::Tensor photo = 255 - light_block(15, 10, /*channels=*/3);  // dark item, white page
  torch::Tensor input =
      preprocess_image(decode_image(testing::jpeg_bytes(photo), "x.jpg"), "x.jpg");
  EXPECT_LT(input[0][0][0].item<float>(), 0.05f);   // background became black
  EXPECT_GT(input[0][14][14].item<float>(), 0.9f);  // item became light
}

TEST(ImageTest, PreprocessKeepsDatasetStyleImages) {
  torch::Tensor item = torch::zeros({28, 28, 1}, torch::kUInt8);
  item.slice(0, 0, 28).slice(1, 8, 20).fill_(255);  // a trouser-like 28x12 item, centred
  torch::Tensor input = preprocess_image(decode_image(testing::png_bytes(item), "t.png"), "t.png");
  EXPECT_TRUE(torch::allclose(input, item.permute({2, 0, 1}).to(torch::kFloat32) / 255));
}

// The data set's own images reach the model unchanged: not re-cropped, re-centred or
// stretched, so that predict agrees with eval on them.
TEST(ImageTest, PreprocessLeavesTwentyEightSquareImagesAsTheyAre) {
  torch::manual_seed(4);
  torch::Tensor item = torch::zeros({28, 28, 1}, torch::kUInt8);
  item.slice(0, 3, 20).slice(1, 2, 15).copy_(torch::randint(40, 200, {17, 13, 1}, torch::kUInt8));
  torch::Tensor input = preprocess_image(decode_image(testing::png_bytes(item), "t.png"), "t.png");
  EXPECT_TRUE(torch::allclose(input, item.permute({2, 0, 1}).to(torch::kFloat32) / 255,
                              /*rtol=*/0, /*atol=*/1e-6));
}

// A 28x28 float image (not one decode_image makes) is only clamped to [0, 1], infinities too.
TEST(ImageTest, PreprocessClampsATwentyEightSquareFloatImage) {
  torch::Tensor gray = torch::zeros({28, 28});
  gray.slice(0, 5, 20).slice(1, 6, 18).fill_(0.7);
  gray[8][9] = 1.5;
  gray[9][9] = std::numeric_limits<float>::infinity();
  gray[10][9] = -0.25;
  torch::Tensor input = preprocess_image(gray, "float");
  EXPECT_TRUE(torch::equal(input, gray.unsqueeze(0).clamp(0, 1)));
}

// A product photo of a data-set image: the item cropped to its pixels, scaled up `scale` times
// (bicubic), dark on a light-grey page at (top, left) of a `frame`-pixel square, as RGB bytes.
torch::Tensor photo_of(const torch::Tensor& item, std::int64_t scale, std::int64_t frame,
                       std::int64_t top, std::int64_t left) {
  torch::Tensor rows = (item > 0).any(1).nonzero(), cols = (item > 0).any(0).nonzero();
  torch::Tensor cropped =
      item.slice(0, rows[0].item<std::int64_t>(), rows[-1].item<std::int64_t>() + 1)
          .slice(1, cols[0].item<std::int64_t>(), cols[-1].item<std::int64_t>() + 1);
  torch::Tensor big = torch::upsample_bicubic2d(cropped.unsqueeze(0).unsqueeze(0),
                                                {cropped.size(0) * scale, cropped.size(1) * scale},
                                                /*align_corners=*/false)
                          .squeeze(0)
                          .squeeze(0)
                          .clamp(0, 1);
  constexpr float kPage = 0.92f;
  torch::Tensor page = torch::full({frame, frame}, kPage);
  page.slice(0, top, top + big.size(0)).slice(1, left, left + big.size(1)).mul_(1 - big);
  return page.mul(255).round_().to(torch::kUInt8).unsqueeze(2).expand({frame, frame, 3});
}

// Fashion-MNIST's test images 0-15 side by side (the data set is MIT-licensed): photographed at
// several sizes and places, each comes back through the photo path close to its original: same
// place, same size, outlines as sharp (scripts/photo_check.py measures what the model then says).
TEST(ImageTest, PhotosOfDataSetImagesComeBackCloseToThem) {
  torch::Tensor strip =
      load_image(std::filesystem::path(FMNIST_TEST_DATA_DIR) / "fashion-mnist-test-0-15.png");
  ASSERT_EQ(strip.sizes(), (std::vector<std::int64_t>{28, 16 * 28}));
  double total_difference = 0;
  for (std::int64_t i = 0; i < 16; ++i) {
    torch::Tensor original = strip.slice(1, 28 * i, 28 * i + 28);
    std::int64_t scale = 2 + i % 5 * 3;  // 2 to 14 times: items of 56 to 392 pixels
    torch::Tensor photo = photo_of(original, scale, /*frame=*/28 * scale + 40, 7 * (i % 4), 20);
    torch::Tensor input =
        preprocess_image(decode_image(testing::jpeg_bytes(photo), "p.jpg"), "p.jpg");
    total_difference += (input.squeeze(0) - original).abs().mean().item<double>();
  }
  // 3.2/255 a pixel on average; 4.4/255 with adaptive pooling and no sharpening (fmnist 0.3).
  EXPECT_LT(total_difference / 16 * 255, 3.8);
}

TEST(ImageTest, RejectsBlankAndSinglePixelImages) {
  EXPECT_THROW(preprocess_image(torch::full({20, 30}, 0.7f), "blank.png"), ImageError);
  EXPECT_THROW(preprocess_image(torch::ones({1, 1}), "dot.png"), ImageError);
}

}  // namespace
}  // namespace fmnist
