// eval's report (text and JSON) and its pictures, from a hand-made EvalResult.
#include "fmnist/eval/eval_report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fmnist/base/error.hpp"
#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/eval/eval_plots.hpp"

#include "test_util.hpp"

namespace fmnist {
namespace {

// 100 images, 10 per class; 90 right; class 6 (Shirt) loses all its images to class 0.
// Predictions: image i has label i % 10 and confidence i / 100.
struct Fixture {
  torch::Tensor labels = torch::arange(100, torch::kInt64) % 10;
  EvalReport report;

  Fixture() {
    torch::Tensor predicted = labels.clone();
    predicted.masked_fill_(labels == 6, 0);
    report.model_path = "runs/model.pt";
    report.epoch = 3;
    report.split = "test";
    report.class_names = fashion_class_names();
    report.result.predicted = predicted;
    report.result.confidence = torch::arange(100, torch::kFloat32) / 100;
    report.result.true_class_probability = 1 - report.result.confidence;
    report.result.confusion =
        (labels * 10 + predicted).bincount(/*weights=*/{}, /*minlength=*/100).view({10, 10});
    report.result.metrics.loss = 0.5;
    report.result.metrics.accuracy = 0.9;
  }
};

TEST(EvalReport, TextHasIntervalScoresAndConfusionTable) {
  Fixture f;
  std::string text = format_eval_text(f.report);
  EXPECT_NE(text.find("model:    runs/model.pt (epoch 3)"), std::string::npos) << text;
  EXPECT_NE(text.find("accuracy: 90.00% (95% CI 82.56% - 94.48%)"), std::string::npos) << text;
  // Shirt: never predicted and never right; T-shirt/top: 10 of its 20 predictions right.
  EXPECT_NE(text.find("Shirt               0.00%    0.00%    0.00%       10"), std::string::npos)
      << text;
  EXPECT_NE(text.find("T-shirt/top        50.00%  100.00%   66.67%       10"), std::string::npos)
      << text;
  EXPECT_NE(text.find("macro average"), std::string::npos);
  EXPECT_NE(text.find("6 Shirt              10     0     0"), std::string::npos) << text;
  EXPECT_EQ(text.find("heat-map"), std::string::npos);  // no plots written
}

TEST(EvalReport, JsonIsOneDocumentWithTheSameNumbers) {
  Fixture f;
  f.report.plots = EvalPlotPaths{"a/c.png", "a/e.png"};
  nlohmann::json doc = nlohmann::json::parse(format_eval_json(f.report));
  EXPECT_EQ(doc["images"], 100);
  EXPECT_DOUBLE_EQ(doc["accuracy"].get<double>(), 0.9);
  EXPECT_NEAR(doc["accuracy_ci95"][0].get<double>(), 0.8256, 1e-4);
  EXPECT_NEAR(doc["accuracy_ci95"][1].get<double>(), 0.9448, 1e-4);
  ASSERT_EQ(doc["classes"].size(), 10u);
  EXPECT_EQ(doc["classes"][0]["name"], "T-shirt/top");
  EXPECT_DOUBLE_EQ(doc["classes"][0]["precision"].get<double>(), 0.5);
  EXPECT_EQ(doc["classes"][6]["support"], 10);
  EXPECT_EQ(doc["confusion"][6][0], 10);
  EXPECT_EQ(doc["plots"]["errors"], "a/e.png");
}

TEST(EvalReport, MarksTestTimeAugmentation) {
  Fixture f;
  EXPECT_EQ(format_eval_text(f.report).find("tta:"), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(format_eval_json(f.report))["tta"].get<bool>());
  f.report.tta = true;
  EXPECT_NE(format_eval_text(f.report).find("tta:      mirror"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(format_eval_json(f.report))["tta"].get<bool>());
}

// A 3-image set of 3 classes, all right: the macro average is over those 3 classes, not 10.
TEST(EvalReport, MacroAverageIsOverClassesWithImages) {
  Fixture f;
  f.report.result.confusion = torch::zeros({10, 10}, torch::kInt64);
  for (int c : {1, 4, 8}) f.report.result.confusion[c][c] = 1;
  std::string text = format_eval_text(f.report);
  EXPECT_NE(text.find("macro average     100.00%  100.00%  100.00%        3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("over the 3 of 10 classes that have images"), std::string::npos) << text;
  nlohmann::json doc = nlohmann::json::parse(format_eval_json(f.report));
  EXPECT_DOUBLE_EQ(doc["macro_average"]["f1"].get<double>(), 1.0);
  EXPECT_EQ(doc["macro_average"]["classes"], 3);
}

TEST(EvalReport, NoErrorsGalleryWithoutErrors) {
  Fixture f;
  f.report.plots = EvalPlotPaths{"a/c.png", std::nullopt};
  EXPECT_NE(format_eval_text(f.report).find("errors gallery:     none (no errors)"),
            std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(format_eval_json(f.report))["plots"]["errors"].is_null());
  testing::TempDir dir;
  write_eval_plots(f.report, torch::zeros({100, 1, 28, 28}, torch::kUInt8), f.labels,
                   EvalPlotPaths{dir / "c.png", std::nullopt});
  EXPECT_TRUE(std::filesystem::exists(dir / "c.png"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(EvalPlots, ProbabilitiesShortOfCertaintyShowIt) {
  EXPECT_EQ(percent_short_of_certainty(0.5), "50.0%");
  EXPECT_EQ(percent_short_of_certainty(0.9997), "99.97%");
  EXPECT_EQ(percent_short_of_certainty(0.99999), "99.999%");
  EXPECT_EQ(percent_short_of_certainty(1.0), "100.0%");
  EXPECT_EQ(percent_short_of_certainty(0.0002), "0.02%");
  EXPECT_EQ(percent_short_of_certainty(0.0), "0.0%");
  EXPECT_EQ(percent_short_of_certainty(1e-9), "<0.0001%");
  EXPECT_EQ(percent_short_of_certainty(1 - 1e-9), ">99.9999%");
}

TEST(EvalPlots, MostConfidentErrorsFirst) {
  Fixture f;
  // The wrong images are 6, 16, ..., 96; confidence grows with the index.
  std::vector<std::int64_t> wrong = most_confident_errors(f.report.result, f.labels, 3);
  EXPECT_EQ(wrong, (std::vector<std::int64_t>{96, 86, 76}));
  EXPECT_EQ(most_confident_errors(f.report.result, f.labels, 100).size(), 10u);
}

TEST(EvalPlots, PathsBesideTheModelOrInPlotsDir) {
  testing::TempDir dir;
  std::filesystem::create_directory(dir / "runs");
  EvalPlotPaths beside = eval_plot_paths((dir / "runs" / "model.best.pt").string(), std::nullopt);
  EXPECT_EQ(beside.confusion, dir / "runs" / "model.best.confusion.png");
  EXPECT_EQ(beside.errors, dir / "runs" / "model.best.errors.png");
  EXPECT_EQ(eval_plot_paths("model.pt", dir.path().string()).errors->string(),
            (dir / "model.errors.png").string());
  // Test-time augmentation's pictures go beside the plain ones, not over them.
  EXPECT_EQ(eval_plot_paths("model.pt", dir.path().string(), /*tta=*/true).confusion,
            dir / "model.tta.confusion.png");
  // A missing --plots directory is made; one that cannot be made is a usage error.
  eval_plot_paths("model.pt", (dir / "missing").string());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "missing"));
  std::filesystem::path file = dir / "runs" / "model.best.pt";
  testing::write_bytes(file, "x");
  EXPECT_THROW(eval_plot_paths("model.pt", (file / "plots").string()), UsageError);
}

TEST(EvalPlots, WritesHeatMapAndGallery) {
  Fixture f;
  testing::TempDir dir;
  torch::Tensor images = torch::zeros({100, 1, 28, 28}, torch::kUInt8);
  images.slice(2, 10, 18).fill_(77);
  EvalPlotPaths paths{dir / "c.png", dir / "e.png"};
  write_eval_plots(f.report, images, f.labels, paths);
  torch::Tensor heat = testing::decode_png_rgb(testing::read_bytes(paths.confusion));
  EXPECT_GT(heat.size(0), 10 * 52);
  torch::Tensor gallery = testing::decode_png_rgb(testing::read_bytes(*paths.errors));
  // The ten wrong images, each an 8-row band of gray 77 drawn 3x: 24x84 pixels.
  std::int64_t band = testing::count_pixels(gallery, 77, 77, 77);
  EXPECT_GE(band, 10 * 23 * 83);
  EXPECT_LE(band, 10 * 25 * 85);
}

}  // namespace
}  // namespace fmnist
