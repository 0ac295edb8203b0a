#include "fmnist/data/idx.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::gzip;
using testing::idx_bytes;

const std::string kPixels(2 * 28 * 28, '\x07');

// The message of the DataError that parsing `bytes` throws, or "" if none.
std::string parse_error(const std::string& bytes, std::int64_t dims = 3) {
  try {
    parse_idx(bytes, dims, "sample.idx");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(IdxTest, ReadsRawImages) {
  torch::Tensor images = parse_idx(idx_bytes({2, 28, 28}, kPixels), 3, "x");
  EXPECT_EQ(images.sizes(), (std::vector<std::int64_t>{2, 28, 28}));
  EXPECT_EQ(images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(images[1][27][27].item<int>(), 7);
}

TEST(IdxTest, ReadsGzipByMagicNotName) {
  torch::Tensor labels = parse_idx(gzip(idx_bytes({3}, "\x01\x02\x09")), 1, "labels.idx");
  EXPECT_EQ(labels.sizes(), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(labels[2].item<int>(), 9);
}

TEST(IdxTest, ReadsFilesFromDisk) {
  testing::TempDir dir;
  testing::write_bytes(dir / "a-ubyte", idx_bytes({2, 28, 28}, kPixels));
  testing::write_bytes(dir / "b-ubyte.gz", gzip(idx_bytes({2}, "\x01\x02")));
  EXPECT_EQ(read_idx_images(dir / "a-ubyte").size(0), 2);
  EXPECT_EQ(read_idx_labels(dir / "b-ubyte.gz").sum().item<int>(), 3);
}

TEST(IdxTest, RejectsEmptyFile) { EXPECT_EQ(parse_error(""), "sample.idx: file is empty"); }

TEST(IdxTest, RejectsTruncatedHeader) {
  EXPECT_NE(parse_error(std::string("\0\0\x08\x03\0\0", 6)).find("truncated"), std::string::npos);
}

TEST(IdxTest, RejectsTruncatedData) {
  std::string bytes = idx_bytes({2, 28, 28}, kPixels.substr(0, 1000));
  EXPECT_NE(parse_error(bytes).find("truncated"), std::string::npos) << parse_error(bytes);
}

TEST(IdxTest, RejectsOversizedData) {
  std::string bytes = idx_bytes({2, 28, 28}, kPixels + "extra");
  EXPECT_EQ(parse_error(bytes), "sample.idx: 5 bytes more than its header declares");
  EXPECT_NE(parse_error(gzip(bytes)).find("more data than its header declares"), std::string::npos);
}

TEST(IdxTest, RejectsWrongMagic) {
  EXPECT_EQ(parse_error("\x89PNG\r\n\x1a\n........"),
            "sample.idx: not an IDX file (bad magic number)");
}

TEST(IdxTest, RejectsWrongDataType) {
  std::string message = parse_error(idx_bytes({2, 28, 28}, kPixels, /*type=*/0x0D));
  EXPECT_NE(message.find("data type 0x0d is not supported"), std::string::npos) << message;
}

TEST(IdxTest, RejectsWrongNumberOfDimensions) {
  EXPECT_EQ(parse_error(idx_bytes({3}, "abc"), /*dims=*/3),
            "sample.idx: has 1 dimensions, but an images file has 3");
  EXPECT_EQ(parse_error(idx_bytes({2, 28, 28}, kPixels), /*dims=*/1),
            "sample.idx: has 3 dimensions, but a labels file has 1");
}

TEST(IdxTest, RejectsZeroDimension) {
  EXPECT_NE(parse_error(idx_bytes({0, 28, 28}, "")).find("dimension 0 is zero"), std::string::npos);
}

TEST(IdxTest, RejectsBillionsOfItemsBeforeAllocating) {
  std::string message = parse_error(idx_bytes({4000000000u, 28, 28}, kPixels));
  EXPECT_NE(message.find("refusing"), std::string::npos) << message;
  // Within the limit but far beyond what a small gzip file can inflate to.
  message = parse_error(gzip(idx_bytes({2000000, 28, 28}, kPixels)));
  EXPECT_NE(message.find("bytes cannot hold that many"), std::string::npos) << message;
}

TEST(IdxTest, RejectsGarbageGzip) {
  std::string garbage = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-garbage-garbage";
  EXPECT_NE(parse_error(garbage).find("gzip"), std::string::npos) << parse_error(garbage);
}

TEST(IdxTest, RejectsTruncatedGzip) {
  std::string compressed = gzip(idx_bytes({2, 28, 28}, kPixels));
  for (std::size_t keep : {std::size_t{12}, compressed.size() / 2, compressed.size() - 4}) {
    std::string message = parse_error(compressed.substr(0, keep));
    EXPECT_NE(message.find("sample.idx: "), std::string::npos) << keep;
    EXPECT_NE(message.find("truncated"), std::string::npos) << keep << ": " << message;
  }
}

TEST(IdxTest, RejectsGzipWithBadChecksum) {
  std::string compressed = gzip(idx_bytes({2, 28, 28}, kPixels));
  compressed[compressed.size() - 6] ^= 0x55;  // inside the CRC-32 trailer
  EXPECT_NE(parse_error(compressed).find("corrupt gzip data"), std::string::npos);
}

TEST(IdxTest, MissingFileNamesIt) {
  try {
    read_idx_images("/nonexistent/t10k-images-idx3-ubyte");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/t10k-images-idx3-ubyte: no such file");
  }
}

}  // namespace
}  // namespace fmnist
