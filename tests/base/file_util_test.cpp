#include "fmnist/base/file_util.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

std::string usage_error_of(const std::filesystem::path& directory) {
  try {
    check_writable_directory(directory, "--out x");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(FileUtilTest, WritableDirectoryPasses) {
  testing::TempDir dir;
  EXPECT_NO_THROW(check_writable_directory(dir.path(), "--out x"));
  EXPECT_NO_THROW(check_writable_directory("", "--out x"));  // the current directory
}

TEST(FileUtilTest, MissingDirectoryOrFileIsAUsageErrorNamingBoth) {
  testing::TempDir dir;
  EXPECT_EQ(usage_error_of(dir.path() / "missing"), "--out x: directory " +
                                                        (dir.path() / "missing").string() +
                                                        " does not exist or is not writable");
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_NE(usage_error_of(dir.path() / "file").find("does not exist or is not writable"),
            std::string::npos);
}

}  // namespace
}  // namespace fmnist
