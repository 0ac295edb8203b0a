#include "fmnist/image/inputs.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "test_util.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

TEST(InputsTest, FilesStayAsGivenAndInOrder) {
  std::istringstream in;
  InputList list = collect_inputs({"b.png", "missing.jpg", "a.txt"}, in);
  EXPECT_EQ(list.paths, (std::vector<std::string>{"b.png", "missing.jpg", "a.txt"}));
  EXPECT_EQ(list.failures, 0u);
}

TEST(InputsTest, DirectoriesAreSearchedRecursivelyByExtension) {
  testing::TempDir dir;
  fs::create_directories(dir / "shoes" / "deep");
  for (const char* name : {"b.PNG", "a.jpeg", "notes.txt", "shoes/deep/c.pgm", "shoes/x.Jpg"}) {
    testing::write_bytes(dir / name, "x");
  }
  fs::create_directory(dir / "folder.png");  // a directory, whatever its name
  std::istringstream in;
  InputList list = collect_inputs({dir.path().string()}, in);
  std::string root = dir.path().string() + "/";
  EXPECT_EQ(list.paths,
            (std::vector<std::string>{root + "a.jpeg", root + "b.PNG", root + "shoes/deep/c.pgm",
                                      root + "shoes/x.Jpg"}));
  EXPECT_EQ(list.failures, 0u);
}

TEST(InputsTest, StdinGivesOnePathALine) {
  std::istringstream in("one.png\r\n\nwith space.jpg\nlast.gif");
  InputList list = collect_inputs({"first.png", "-"}, in);
  EXPECT_EQ(list.paths,
            (std::vector<std::string>{"first.png", "one.png", "with space.jpg", "last.gif"}));
  EXPECT_EQ(list.failures, 0u);
}

TEST(InputsTest, ArgumentsWithoutImagesAreFailures) {
  testing::TempDir dir;
  testing::write_bytes(dir / "readme.txt", "x");
  std::istringstream in("\n\n");
  ::testing::internal::CaptureStderr();
  InputList list = collect_inputs({dir.path().string(), "-", "ok.png"}, in);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(list.paths, (std::vector<std::string>{"ok.png"}));
  EXPECT_EQ(list.failures, 2u);
  EXPECT_NE(err.find(dir.path().string() + ": holds no images"), std::string::npos) << err;
  EXPECT_NE(err.find("-: standard input holds no paths"), std::string::npos) << err;
}

}  // namespace
}  // namespace fmnist
