#include "fmnist/base/file_util.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <string>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

std::string usage_error_of(const std::filesystem::path& directory) {
  try {
    make_output_directory(directory, "--out x");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(FileUtilTest, AnOutputFileThatIsADirectorySaysWhatToGive) {
  testing::TempDir dir;
  check_not_a_directory(dir / "model.pt", "--out", "model.pt");  // not there yet: a file to be
  try {
    check_not_a_directory(dir.path(), "--out", "model.pt");
    ADD_FAILURE() << "a directory passed";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "--out " + dir.path().string() +
                                         ": is a directory; give a file name, e.g. --out " +
                                         (dir / "model.pt").string());
  }
  EXPECT_THROW(check_not_a_directory("runs/", "--out", "show.png"), UsageError);  // no file name
}

TEST(FileUtilTest, WritableDirectoryPasses) {
  testing::TempDir dir;
  EXPECT_NO_THROW(make_output_directory(dir.path(), "--out x"));
  EXPECT_NO_THROW(make_output_directory("", "--out x"));  // the current directory
}

TEST(FileUtilTest, MissingDirectoriesAreMade) {
  testing::TempDir dir;
  EXPECT_NO_THROW(make_output_directory(dir.path() / "a" / "b", "--out x"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "a" / "b"));
}

TEST(FileUtilTest, ADirectoryThatCannotBeMadeIsAUsageErrorNamingBoth) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_EQ(usage_error_of(dir.path() / "file" / "sub"),
            "--out x: cannot create the directory " + (dir.path() / "file" / "sub").string() +
                ": Not a directory");
  EXPECT_NE(usage_error_of(dir.path() / "file").find("cannot create the directory"),
            std::string::npos);
}

std::ptrdiff_t count_entries(const std::filesystem::path& dir) {
  return std::distance(std::filesystem::directory_iterator(dir),
                       std::filesystem::directory_iterator());
}

// A writer that truncates the target and writes into it would change what a second hard link
// to the old file reads; a new file renamed into place leaves the old one to the link.
TEST(FileUtilTest, AtomicWriteReplacesTheFileInsteadOfWritingIntoIt) {
  testing::TempDir dir;
  testing::write_bytes(dir / "model.pt", "old bytes");
  std::filesystem::create_hard_link(dir / "model.pt", dir / "link.pt");
  write_file_atomically(dir / "model.pt", "new bytes, more of them");
  EXPECT_EQ(testing::read_bytes(dir / "model.pt"), "new bytes, more of them");
  EXPECT_EQ(testing::read_bytes(dir / "link.pt"), "old bytes");
  EXPECT_EQ(count_entries(dir.path()), 2);  // no temporary file left
}

// Sets the largest file this process may write (RLIMIT_FSIZE, with SIGXFSZ ignored so that a
// longer write fails with EFBIG instead of killing the process) for its lifetime: a disk that
// fills up in the middle of a write, also for root.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit saved_{};
  void (*previous_handler_)(int) = nullptr;
};

TEST(FileUtilTest, WriteThatFailsHalfWayKeepsThePreviousFile) {
  testing::TempDir dir;
  testing::write_bytes(dir / "model.pt", "the previous model");
  {
    FileSizeLimit limit(/*bytes=*/4096);
    EXPECT_THROW(write_file_atomically(dir / "model.pt", std::string(1 << 16, 'x')), Error);
  }
  EXPECT_EQ(testing::read_bytes(dir / "model.pt"), "the previous model");
  EXPECT_EQ(count_entries(dir.path()), 1);  // the half-written temporary file is gone
}

}  // namespace
}  // namespace fmnist
