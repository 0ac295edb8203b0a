// A model file is data, never code: every command that reads a checkpoint refuses a crafted
// TorchScript archive (its __setstate__ writes to ./victim.txt when loaded blindly) with one
// line and exit 1, and the victim file is left byte for byte as it was.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fmnist {
namespace {

const std::filesystem::path kCrafted = FMNIST_TEST_DATA_DIR "/checkpoints/crafted-setstate.pt";

class CraftedCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "data");
    testing::write_dataset(dir_ / "data", /*train_count=*/40, /*test_count=*/20);
    testing::write_bytes(dir_ / "x.png",
                         testing::png_bytes(torch::zeros({28, 28, 1}, torch::kUInt8)));
    std::filesystem::copy_file(kCrafted, dir_ / "crafted.pt");
  }
  testing::TempDir dir_;
};

TEST_F(CraftedCheckpointTest, NoCommandRunsIt) {
  const std::string victim = "hello world, these bytes must stay\n";
  for (const std::string command :
       {"eval crafted.pt --data data --device cpu", "eval --model crafted.pt --data data",
        "predict x.png --model crafted.pt --device cpu", "info crafted.pt",
        "train --resume crafted.pt --data data --epochs 2 --device cpu",
        "checkpoint upgrade crafted.pt new.pt"}) {
    testing::write_bytes(dir_ / "victim.txt", victim);
    testing::CommandResult run = testing::run_fmnist(command, dir_.path());
    EXPECT_EQ(run.status, 1) << command << "\n" << run.err;
    EXPECT_EQ(run.err.rfind("fmnist: error: crafted.pt: refused: ", 0), 0) << command << "\n"
                                                                           << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << command << "\n" << run.err;
    EXPECT_EQ(testing::read_bytes(dir_ / "victim.txt"), victim) << command;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "new.pt"));
}

}  // namespace
}  // namespace fmnist
