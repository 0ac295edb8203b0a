#include "fmnist/report/summary.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace fmnist {
namespace {

std::string summary(const std::string& arch) {
  std::ostringstream out;
  run_summary({arch}, out);
  return out.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SummaryTest, TableOfTheTutorialsNetwork) {
  std::string text = summary(kCnnArch);
  EXPECT_TRUE(contains(text, "conv1 (Conv2d)              (None, 32, 26, 26)               320\n"))
      << text;
  EXPECT_TRUE(contains(text, "pool2 (MaxPool2d+ReLU)      (None, 64, 5, 5)")) << text;
  EXPECT_TRUE(contains(text, "flatten (Flatten)           (None, 1600)")) << text;
  EXPECT_TRUE(contains(text, "fc1 (Linear)                (None, 128)                  204,928"))
      << text;
  EXPECT_TRUE(contains(text, "Total params: 225,034\n")) << text;
  EXPECT_FALSE(contains(text, "bn1")) << text;
}

TEST(SummaryTest, BatchNormVariantHasItsThreeLayers) {
  std::string text = summary(kCnnBnArch);
  EXPECT_TRUE(contains(text, "bn1 (BatchNorm2d)           (None, 32, 26, 26)                64"))
      << text;
  EXPECT_TRUE(contains(text, "bn2 (BatchNorm2d)")) << text;
  EXPECT_TRUE(contains(text, "bn3 (BatchNorm1d)           (None, 128)")) << text;
  EXPECT_TRUE(contains(text, "Total params: 225,482\n")) << text;
}

TEST(SummaryTest, InfoRepeatsTheTrainingCommandAndMetrics) {
  Checkpoint checkpoint;
  checkpoint.epoch = 4;
  checkpoint.best_epoch = 3;
  checkpoint.best_accuracy = 0.9;
  checkpoint.settings.validation = kValidateOnSplit;
  checkpoint.settings.val_split = 0.1;
  checkpoint.settings.augment = true;
  checkpoint.settings.device = "cpu (2 threads)";
  checkpoint.metrics.val = {0.3, 0.9};
  checkpoint.torch_version = "1.13.1";
  std::string text = format_checkpoint_info(checkpoint, "m.pt");
  EXPECT_TRUE(contains(text,
                       "checkpoint: m.pt (arch cnn, 4 epochs; best validation accuracy "
                       "90.00% at epoch 3)"))
      << text;
  EXPECT_TRUE(contains(text,
                       "fmnist train --arch cnn --epochs 20 --batch-size 128 --optimizer adam "
                       "--lr 0.001 --seed 42 --val split --val-split 0.1 --lr-schedule none"))
      << text;
  EXPECT_TRUE(contains(text, " --augment --clean-epochs 0\n")) << text;
  EXPECT_TRUE(contains(text, "device:     cpu (2 threads)")) << text;
  EXPECT_FALSE(contains(text, "outputs:")) << text;  // an older checkpoint's: not stored
  checkpoint.settings.out = "/runs/m.pt";
  checkpoint.settings.checkpoint_dir = "/runs/ck";
  EXPECT_TRUE(contains(format_checkpoint_info(checkpoint, "m.pt"),
                       "outputs:    /runs/m.pt, epoch files in /runs/ck\n"));
  EXPECT_TRUE(contains(text, "  val   loss 0.3000  accuracy 90.00%")) << text;
  EXPECT_TRUE(contains(text, "  test  not measured")) << text;
  EXPECT_TRUE(contains(text, "Total params: 225,034")) << text;
}

TEST(SummaryTest, InfoJsonHoldsWhatInfoShows) {
  Checkpoint checkpoint;
  checkpoint.epoch = 4;
  checkpoint.best_epoch = 3;
  checkpoint.best_accuracy = 0.9;
  checkpoint.settings.augment = true;
  checkpoint.metrics.val = {0.3, 0.9};
  checkpoint.fmnist_version = "0.5.0";
  auto document = nlohmann::json::parse(format_checkpoint_json(checkpoint, "m.pt"));
  EXPECT_EQ(document["path"], "m.pt");
  EXPECT_EQ(document["arch"], "cnn");
  EXPECT_EQ(document["classes"].size(), 10u);
  EXPECT_EQ(document["classes"][8], "Bag");
  EXPECT_EQ(document["epoch"], 4);
  EXPECT_EQ(document["best_validation"]["epoch"], 3);
  EXPECT_EQ(document["trained_by"], training_command(checkpoint));
  EXPECT_EQ(document["settings"]["augment"], true);
  EXPECT_EQ(document["settings"]["batch_size"], 128);
  EXPECT_DOUBLE_EQ(document["metrics"]["val"]["accuracy"].get<double>(), 0.9);
  EXPECT_TRUE(document["metrics"]["test"]["loss"].is_null());  // not measured: no NaN in JSON
  EXPECT_EQ(document["versions"]["fmnist"], "0.5.0");
  EXPECT_EQ(document["parameters"], 225034);
  EXPECT_EQ(document["layers"][0]["layer"], "conv1 (Conv2d)");
  EXPECT_EQ(document["layers"][0]["parameters"], 320);
  checkpoint.best_epoch = 0;
  EXPECT_TRUE(nlohmann::json::parse(format_checkpoint_json(checkpoint, "m.pt"))["best_validation"]
                  .is_null());
}

}  // namespace
}  // namespace fmnist
