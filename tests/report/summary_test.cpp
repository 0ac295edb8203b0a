#include "fmnist/report/summary.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fmnist
