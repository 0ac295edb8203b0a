#include "fmnist/image/exif.hpp"

#include <gtest/gtest.h>

#include "fmnist/image/image.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

std::string plain_jpeg() { return testing::jpeg_bytes(torch::full({8, 8, 1}, 128, torch::kUInt8)); }

TEST(ExifTest, ReadsOrientationInEitherByteOrder) {
  for (int orientation = 1; orientation <= 8; ++orientation) {
    EXPECT_EQ(exif_orientation(testing::with_exif_orientation(plain_jpeg(), orientation)),
              orientation);
    EXPECT_EQ(exif_orientation(testing::with_exif_orientation(plain_jpeg(), orientation,
                                                              /*big_endian=*/false)),
              orientation);
  }
}

TEST(ExifTest, UprightWithoutUsableTag) {
  EXPECT_EQ(exif_orientation(plain_jpeg()), 1);
  EXPECT_EQ(exif_orientation(testing::with_exif_orientation(plain_jpeg(), 9)), 1);
  EXPECT_EQ(exif_orientation(testing::with_exif_orientation(plain_jpeg(), 0)), 1);
  std::string truncated = testing::with_exif_orientation(plain_jpeg(), 6).substr(0, 20);
  EXPECT_EQ(exif_orientation(truncated), 1);
  EXPECT_EQ(exif_orientation(""), 1);
}

TEST(ExifTest, AppliesEachOrientation) {
  torch::Tensor stored = torch::arange(6).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  std::vector<std::vector<std::int64_t>> upright[] = {
      {{0, 1, 2}, {3, 4, 5}},    // 1
      {{2, 1, 0}, {5, 4, 3}},    // 2
      {{5, 4, 3}, {2, 1, 0}},    // 3
      {{3, 4, 5}, {0, 1, 2}},    // 4
      {{0, 3}, {1, 4}, {2, 5}},  // 5
      {{3, 0}, {4, 1}, {5, 2}},  // 6: stored row 0 is the right-hand side, top down
      {{5, 2}, {4, 1}, {3, 0}},  // 7
      {{2, 5}, {1, 4}, {0, 3}},  // 8: stored row 0 is the left-hand side, bottom up
  };
  for (int orientation = 1; orientation <= 8; ++orientation) {
    torch::Tensor turned = apply_orientation(stored, orientation);
    const auto& expected = upright[orientation - 1];
    ASSERT_EQ(turned.size(0), static_cast<std::int64_t>(expected.size())) << orientation;
    for (std::size_t r = 0; r < expected.size(); ++r) {
      for (std::size_t c = 0; c < expected[r].size(); ++c) {
        EXPECT_EQ(turned[r][c].item<std::int64_t>(), expected[r][c])
            << "orientation " << orientation << " at " << r << "," << c;
      }
    }
  }
}

TEST(ExifTest, DecodeTurnsAPhoneJpegUpright) {
  // Stored 20 high, 40 wide, a light block in the top-left corner; orientation 6 (a phone
  // held upright) shows it 40 high, 20 wide, with the block in the top-right corner.
  torch::Tensor stored = torch::zeros({20, 40, 1}, torch::kUInt8);
  stored.slice(0, 0, 6).slice(1, 0, 10).fill_(255);
  std::string jpeg = testing::with_exif_orientation(testing::jpeg_bytes(stored), 6);
  torch::Tensor gray = decode_image(jpeg, "phone.jpg");
  ASSERT_EQ(gray.sizes(), (std::vector<std::int64_t>{40, 20}));
  EXPECT_GT(gray[3][17].item<float>(), 0.8f);
  EXPECT_LT(gray[3][2].item<float>(), 0.2f);
  EXPECT_LT(gray[36][17].item<float>(), 0.2f);
}

}  // namespace
}  // namespace fmnist
