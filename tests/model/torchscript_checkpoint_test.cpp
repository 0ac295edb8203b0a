// Format 1, fmnist 0.1's TorchScript checkpoints: a real one from that release still loads
// (after the strict check) and upgrades; anything with code in it is refused before LibTorch
// compiles a line of it.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <functional>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

const std::filesystem::path kFixtures = FMNIST_TEST_DATA_DIR "/checkpoints";

std::string torchscript_load_error(const std::filesystem::path& path) {
  try {
    load_checkpoint(path, torch::kCPU);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "";
}

TEST(TorchScriptCheckpointTest, ReleaseCheckpointLoadsWithItsOptimizerState) {
  Checkpoint old = load_checkpoint(kFixtures / "fmnist-0.1-cnn.pt", torch::kCPU);
  EXPECT_EQ(old.format_version, kTorchScriptCheckpointVersion);
  EXPECT_EQ(old.arch, kCnnArch);
  EXPECT_EQ(old.epoch, 1);
  EXPECT_EQ(old.fmnist_version, "0.1.0");
  EXPECT_EQ(count_parameters(*old.model), 225034);
  ASSERT_EQ(old.optimizer_state.size(), old.model->parameters().size());
  for (const OptimizerMoments& moments : old.optimizer_state) {
    EXPECT_EQ(moments.step, 2);  // 200 images in batches of 128
    EXPECT_GT(moments.exp_avg_sq.abs().sum().item<double>(), 0);
  }
}

TEST(TorchScriptCheckpointTest, UpgradeSaysWhatItDid) {
  TempDir dir;
  std::ostringstream out;
  const std::string old_path = (kFixtures / "fmnist-0.1-cnn.pt").string();
  const std::string new_path = (dir / "new.pt").string();
  run_checkpoint_upgrade({old_path, new_path}, out);
  EXPECT_EQ(out.str(), old_path + " (format 1) -> " + new_path + " (format 2)\n");
  out.str("");
  run_checkpoint_upgrade({new_path, new_path}, out);
  EXPECT_EQ(out.str(), new_path + " (format 2) -> " + new_path +
                           " (format 2): it already was in the current format\n");
}

TEST(TorchScriptCheckpointTest, UpgradeKeepsWeightsMetadataAndOptimizerState) {
  TempDir dir;
  const std::filesystem::path old_path = kFixtures / "fmnist-0.1-cnn.pt";
  EXPECT_EQ(upgrade_checkpoint(old_path, dir / "new.pt"), kTorchScriptCheckpointVersion);
  Checkpoint old = load_checkpoint(old_path, torch::kCPU);
  Checkpoint upgraded = load_checkpoint(dir / "new.pt", torch::kCPU);
  EXPECT_EQ(upgraded.format_version, kCheckpointVersion);
  torch::Tensor x = torch::rand({4, 1, 28, 28});
  EXPECT_TRUE(torch::equal(old.model->forward(x), upgraded.model->forward(x)));
  EXPECT_EQ(upgraded.settings.data_dir, old.settings.data_dir);
  EXPECT_DOUBLE_EQ(upgraded.metrics.test.accuracy, old.metrics.test.accuracy);
  ASSERT_EQ(upgraded.optimizer_state.size(), old.optimizer_state.size());
  for (std::size_t i = 0; i < old.optimizer_state.size(); ++i) {
    EXPECT_EQ(upgraded.optimizer_state[i].step, old.optimizer_state[i].step);
    EXPECT_TRUE(torch::equal(upgraded.optimizer_state[i].exp_avg, old.optimizer_state[i].exp_avg));
  }
}

// Runs `load` in a new directory holding crafted.pt and ./victim.txt, the file the crafted
// archive's __setstate__ names by a relative path; returns the victim's bytes afterwards.
std::string victim_after(const std::function<void()>& load) {
  TempDir dir;
  std::filesystem::copy_file(kFixtures / "crafted-setstate.pt", dir / "crafted.pt");
  testing::write_bytes(dir / "victim.txt", "hello world\n");
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  load();
  std::filesystem::current_path(cwd);
  return testing::read_bytes(dir / "victim.txt");
}

// The fixture bites: loaded blindly, as fmnist 0.1 did, it writes to ./victim.txt.
TEST(TorchScriptCheckpointTest, CraftedArchiveRunsCodeWhenLoadedBlindly) {
  torch::serialize::InputArchive archive;
  EXPECT_EQ(victim_after([&] { archive.load_from("crafted.pt"); }), "!!!!!!!orld\n");
}

TEST(TorchScriptCheckpointTest, CraftedArchiveIsRefusedWithoutRunningIt) {
  std::string error;
  EXPECT_EQ(victim_after([&] { error = torchscript_load_error("crafted.pt"); }), "hello world\n");
  EXPECT_EQ(error.rfind("crafted.pt: refused: its code/__torch__.py holds code fmnist never "
                        "writes (line 1: 'class Evil(Module):')",
                        0),
            0)
      << error;
}

// The release checkpoint with one declaration replaced by a method (checksums kept valid, as
// an attacker would): refused.
TEST(TorchScriptCheckpointTest, ReleaseCheckpointWithAMethodIsRefused) {
  TempDir dir;
  caffe2::serialize::PyTorchStreamReader reader((kFixtures / "fmnist-0.1-cnn.pt").string());
  caffe2::serialize::PyTorchStreamWriter writer((dir / "method.pt").string());
  for (const std::string& record : reader.getAllRecords()) {
    if (record == "version" || record == ".data/version") continue;  // the writer adds it
    auto [data, size] = reader.getRecord(record);
    std::string bytes(static_cast<const char*>(data.get()), size);
    if (record == "code/__torch__/___torch_mangle_1.py") {
      const std::string declaration = "  weight : Tensor\n";
      ASSERT_NE(bytes.find(declaration), std::string::npos);
      bytes.replace(bytes.find(declaration), declaration.size(), "  def f(s): pass\n");
    }
    writer.writeRecord(record, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  EXPECT_NE(torchscript_load_error(dir / "method.pt")
                .find("its code/__torch__/___torch_mangle_1.py holds code fmnist never writes "
                      "(line 4: '  def f(s): pass')"),
            std::string::npos)
      << torchscript_load_error(dir / "method.pt");
}

}  // namespace
}  // namespace fmnist
