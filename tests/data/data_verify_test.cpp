#include "fmnist/data/data_verify.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "fmnist/base/error.hpp"

#include "test_util.hpp"

namespace fmnist {
namespace {

TEST(Sha256, KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// A synthetic test split in `dir` and what verify must expect of it: the sums of its raw IDX
// bytes, whether stored raw or gzip.
std::vector<KnownFile> write_known_split(const std::filesystem::path& dir, bool gzipped) {
  auto split = testing::make_split(30, /*seed=*/5);
  testing::write_split(dir, "t10k", split, gzipped);
  std::string images = testing::idx_bytes(
      {30, 28, 28}, std::string(static_cast<const char*>(split.images.data_ptr()), 30 * 28 * 28));
  std::string labels =
      testing::idx_bytes({30}, std::string(static_cast<const char*>(split.labels.data_ptr()), 30));
  return {{Split::kTest, false, 30, images.size(), sha256_hex(images)},
          {Split::kTest, true, 30, labels.size(), sha256_hex(labels)}};
}

TEST(DataVerify, HashesTheDecompressedBytesOfRawAndGzipFiles) {
  for (bool gzipped : {false, true}) {
    testing::TempDir dir;
    std::vector<FileCheck> checks = verify_data(dir.path(), write_known_split(dir.path(), gzipped));
    ASSERT_EQ(checks.size(), 2u);
    for (const FileCheck& c : checks) {
      EXPECT_EQ(c.status, FileStatus::kOk) << c.file << ": " << c.detail;
      EXPECT_TRUE(c.sha256_matches);
    }
    EXPECT_NE(checks[0].detail.find("30 examples, 23536 bytes"), std::string::npos)
        << checks[0].detail;
  }
}

TEST(DataVerify, ReportsMismatchMissingAndUnreadable) {
  testing::TempDir dir;
  std::vector<KnownFile> known = write_known_split(dir.path(), /*gzipped=*/true);
  known[0].sha256[0] = known[0].sha256[0] == '0' ? '1' : '0';
  known[1].examples = 31;
  known.push_back({Split::kTrain, false, 1, 1, "00"});
  std::vector<FileCheck> checks = verify_data(dir.path(), known);
  EXPECT_EQ(checks[0].status, FileStatus::kMismatch);
  EXPECT_FALSE(checks[0].sha256_matches);
  EXPECT_NE(checks[0].detail.find("(expected "), std::string::npos);
  // The bytes match the sum, but not the count expected.
  EXPECT_EQ(checks[1].status, FileStatus::kMismatch);
  EXPECT_TRUE(checks[1].sha256_matches);
  EXPECT_NE(checks[1].detail.find("30 examples (expected 31)"), std::string::npos)
      << checks[1].detail;
  EXPECT_EQ(checks[2].status, FileStatus::kMissing);

  testing::write_bytes(dir / "t10k-labels-idx1-ubyte.gz", "\x1f\x8bjunk");
  FileCheck corrupt = verify_data(dir.path(), known)[1];
  EXPECT_EQ(corrupt.status, FileStatus::kUnreadable);
  EXPECT_NE(corrupt.detail.find("gzip"), std::string::npos) << corrupt.detail;

  std::string lines = format_file_checks(checks);
  EXPECT_NE(lines.find("t10k-images-idx3-ubyte.gz  MISMATCH"), std::string::npos) << lines;
  EXPECT_NE(lines.find("MISSING     not found"), std::string::npos) << lines;
}

TEST(DataVerify, AnotherDataSetIsNamedAsSuch) {
  testing::TempDir dir;
  testing::write_dataset(dir.path(), 20, 10);
  DataVerifyOptions options{dir.path().string()};
  std::ostringstream out;
  try {
    run_data_verify(options, out);
    FAIL() << "synthetic data passed as Fashion-MNIST";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not Fashion-MNIST"), std::string::npos) << e.what();
  }
  std::string lines = out.str();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 4) << lines;
  EXPECT_NE(lines.find("MISMATCH"), std::string::npos);
}

}  // namespace
}  // namespace fmnist
