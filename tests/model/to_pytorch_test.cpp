// scripts/to_pytorch.py must rebuild the same network in Python PyTorch: its logits for the
// same inputs agree with fmnist's to 1e-5. Skipped where Python has no torch.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "fmnist/model/checkpoint.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

std::string raw_floats(const torch::Tensor& t) {
  torch::Tensor values = t.to(torch::kFloat32).contiguous();
  return std::string(static_cast<const char*>(values.data_ptr()), values.numel() * sizeof(float));
}

int run_check(const testing::TempDir& dir, const std::string& logits_file) {
  std::string command = "cd '" + dir.path().string() +
                        "' && '" FMNIST_PYTHON "' '" FMNIST_SCRIPTS_DIR
                        "/to_pytorch.py' model.pt --check inputs.f32 " +
                        logits_file + " >out.txt 2>&1";
  int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

TEST(ToPytorchTest, PythonModelGivesFmnistsLogits) {
  if (std::system("'" FMNIST_PYTHON "' -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << FMNIST_PYTHON " has no torch (Debian: python3-torch)";
  }
  testing::TempDir dir;
  testing::save_fresh_checkpoint(dir / "model.pt", /*seed=*/11);
  Checkpoint checkpoint = load_checkpoint(dir / "model.pt", torch::kCPU);
  torch::manual_seed(12);
  torch::Tensor inputs = torch::rand({32, 1, 28, 28});
  torch::Tensor logits;
  {
    torch::InferenceMode inference;
    logits = checkpoint.model->forward(inputs);
  }
  testing::write_bytes(dir / "inputs.f32", raw_floats(inputs));
  testing::write_bytes(dir / "logits.f32", raw_floats(logits));
  testing::write_bytes(dir / "off.f32", raw_floats(logits + 1e-3));

  EXPECT_EQ(run_check(dir, "logits.f32"), 0) << testing::read_bytes(dir / "out.txt");
  EXPECT_NE(testing::read_bytes(dir / "out.txt").find("32 inputs"), std::string::npos);
  EXPECT_EQ(run_check(dir, "off.f32"), 1) << testing::read_bytes(dir / "out.txt");
}

}  // namespace
}  // namespace fmnist
