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
    make_output_directory(directory, "--out x");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
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

}  // namespace
}  // namespace fmnist
