// scripts/to_pytorch.py must rebuild the same network in Python PyTorch: its logits for the
// same inputs agree with fmnist's to 1e-5. Skipped where Python has no torch.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/model.hpp"
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

bool python_has_torch() {
  return std::system("'" FMNIST_PYTHON "' -c 'import torch' >/dev/null 2>&1") == 0;
}

#define SKIP_WITHOUT_PYTHON_TORCH() \
  if (!python_has_torch())          \
  FMNIST_SKIP_OUTSIDE_CI(FMNIST_PYTHON " has no torch (Debian: python3-torch)")

// Writes inputs.f32, logits.f32 (fmnist's logits of the checkpoint model.pt in `dir`) and
// off.f32 (those logits slightly off).
void write_inputs_and_logits(const testing::TempDir& dir) {
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
}

// Trained networks of every architecture, written by an earlier build (the batch-norm ones with
// running statistics far from 0 and 1).
TEST(ToPytorchTest, PythonGivesTheLogitsOfTrainedNetworks) {
  SKIP_WITHOUT_PYTHON_TORCH();
  for (const char* arch : {"cnn", "cnn-bn", "resnet"}) {
    SCOPED_TRACE(arch);
    testing::TempDir dir;
    std::filesystem::copy_file(
        FMNIST_TEST_DATA_DIR "/checkpoints/fmnist-0.3.0-" + std::string(arch) + ".pt",
        dir / "model.pt");
    write_inputs_and_logits(dir);
    EXPECT_EQ(run_check(dir, "logits.f32"), 0) << testing::read_bytes(dir / "out.txt");
    EXPECT_EQ(run_check(dir, "off.f32"), 1) << testing::read_bytes(dir / "out.txt");
    if (std::string(arch) != kResNetArch) continue;

    // torch.onnx.export traces the residual network too: the file holds all 304,122 weights.
    std::string export_onnx = "cd '" + dir.path().string() +
                              "' && '" FMNIST_PYTHON "' '" FMNIST_SCRIPTS_DIR
                              "/to_pytorch.py' model.pt --onnx model.onnx >out.txt 2>&1";
    ASSERT_EQ(std::system(export_onnx.c_str()), 0) << testing::read_bytes(dir / "out.txt");
    EXPECT_GT(std::filesystem::file_size(dir / "model.onnx"), 304122u * sizeof(float));
  }
}

TEST(ToPytorchTest, PythonModelGivesFmnistsLogits) {
  SKIP_WITHOUT_PYTHON_TORCH();
  testing::TempDir dir;
  testing::save_fresh_checkpoint(dir / "model.pt", /*seed=*/11);
  write_inputs_and_logits(dir);

  EXPECT_EQ(run_check(dir, "logits.f32"), 0) << testing::read_bytes(dir / "out.txt");
  EXPECT_NE(testing::read_bytes(dir / "out.txt").find("32 inputs"), std::string::npos);
  EXPECT_EQ(run_check(dir, "off.f32"), 1) << testing::read_bytes(dir / "out.txt");

  // The state dict the script writes is not a checkpoint, and fmnist says what it is.
  std::string export_pth = "cd '" + dir.path().string() +
                           "' && '" FMNIST_PYTHON "' '" FMNIST_SCRIPTS_DIR
                           "/to_pytorch.py' model.pt --out model.pth";
  ASSERT_EQ(std::system(export_pth.c_str()), 0);
  testing::CommandResult info = testing::run_fmnist("info model.pth", dir.path());
  EXPECT_EQ(info.status, 1);
  EXPECT_EQ(info.err,
            "fmnist: error: model.pth is a PyTorch state dict written by "
            "to_pytorch.py; fmnist reads the .pt checkpoints that 'fmnist train' writes\n");
}

// Runs a copy of to_pytorch.py in `dir` (where nothing else of scripts/ is) with `arguments`.
testing::CommandResult run_copied_script(const testing::TempDir& dir,
                                         const std::string& arguments) {
  std::filesystem::copy_file(FMNIST_SCRIPTS_DIR "/to_pytorch.py", dir / "to_pytorch.py",
                             std::filesystem::copy_options::overwrite_existing);
  std::string command = "cd '" + dir.path().string() + "' && '" FMNIST_PYTHON "' to_pytorch.py " +
                        arguments + " >out.txt 2>err.txt";
  int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, testing::read_bytes(dir / "out.txt"),
          testing::read_bytes(dir / "err.txt")};
}

// Mistakes get one line and exit 1, not a traceback; a copy of the script outside the
// repository evaluates a checkpoint on its own.
TEST(ToPytorchTest, ErrorsAreOneLineAndTheScriptStandsAlone) {
  SKIP_WITHOUT_PYTHON_TORCH();
  testing::TempDir dir;
  testing::save_fresh_checkpoint(dir / "model.pt", /*seed=*/5);
  std::filesystem::create_directory(dir / "data");
  testing::write_dataset(dir / "data", /*train_count=*/10, /*test_count=*/30);
  for (const char* arguments :
       {"model.pt --eval .", "model.pt --onnx data", "model.pt --out /proc/x.pth", "missing.pt"}) {
    testing::CommandResult run = run_copied_script(dir, arguments);
    EXPECT_EQ(run.status, 1) << arguments;
    EXPECT_EQ(run.err.rfind("to_pytorch.py: error: ", 0), 0u) << arguments << ": " << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << arguments << ": " << run.err;
  }
  testing::CommandResult eval = run_copied_script(dir, "model.pt --eval data");
  EXPECT_EQ(eval.status, 0) << eval.err;
  EXPECT_NE(eval.out.find("test split (30 images)"), std::string::npos) << eval.out;
}

}  // namespace
}  // namespace fmnist
