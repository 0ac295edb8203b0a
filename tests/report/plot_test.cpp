// The plot module and write_history_plot: PNGs that decode, with the expected content.
#include "fmnist/report/plot.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fmnist/base/error.hpp"
#include "fmnist/train/history.hpp"

#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::count_pixels;
using testing::decode_png_rgb;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The first two tab10 colours, which draw a chart's first and second series.
std::int64_t blue_pixels(const torch::Tensor& rgb) { return count_pixels(rgb, 31, 119, 180, 4); }
std::int64_t orange_pixels(const torch::Tensor& rgb) { return count_pixels(rgb, 255, 127, 14, 4); }
// The third, which marks the best epoch.
std::int64_t green_pixels(const torch::Tensor& rgb) { return count_pixels(rgb, 44, 160, 44, 4); }

std::vector<EpochRecord> synthetic_history(bool with_validation) {
  std::vector<EpochRecord> history;
  for (int epoch = 1; epoch <= 5; ++epoch) {
    EpochRecord r;
    r.epoch = epoch;
    r.train_loss = 0.6 / epoch;
    r.train_accuracy = 0.80 + 0.03 * epoch;
    r.val_loss = with_validation ? 0.45 - 0.02 * epoch : kNaN;
    r.val_accuracy = with_validation ? 0.84 + 0.01 * epoch - (epoch == 5 ? 0.02 : 0) : kNaN;
    r.learning_rate = 1e-3 / epoch;
    history.push_back(r);
  }
  return history;
}

TEST(HistoryPlot, DrawsTrainAndValidationCurvesOfLossAndAccuracy) {
  testing::TempDir dir;
  write_history_plot(synthetic_history(/*with_validation=*/true), dir / "history.png");
  torch::Tensor rgb = decode_png_rgb(testing::read_bytes(dir / "history.png"));
  ASSERT_EQ(rgb.size(0), 400);
  ASSERT_EQ(rgb.size(1), 3 * 540);
  // The first two thirds (loss, accuracy) hold both curves; the last, the learning rate.
  for (const torch::Tensor& third : {rgb.slice(1, 0, 540), rgb.slice(1, 540, 1080)}) {
    EXPECT_GT(blue_pixels(third), 300);
    EXPECT_GT(orange_pixels(third), 300);
  }
  torch::Tensor learning_rate = rgb.slice(1, 1080, 1620);
  EXPECT_GT(blue_pixels(learning_rate), 300);
  EXPECT_EQ(orange_pixels(learning_rate), 0);
}

// Epoch 4 has the best validation accuracy: a large marker in the third colour there, in the
// accuracy chart only.
TEST(HistoryPlot, MarksTheBestEpoch) {
  testing::TempDir dir;
  write_history_plot(synthetic_history(/*with_validation=*/true), dir / "history.png");
  torch::Tensor rgb = decode_png_rgb(testing::read_bytes(dir / "history.png"));
  torch::Tensor accuracy = rgb.slice(1, 540, 1080);
  EXPECT_GT(green_pixels(accuracy), 100);
  EXPECT_EQ(green_pixels(rgb.slice(1, 0, 540)), 0);
  // The marker is at epoch 4 of 1-5: right of the plot's middle, left of its right edge.
  torch::Tensor columns = (accuracy.select(2, 1) == 160).any(0).nonzero().flatten();
  ASSERT_GT(columns.numel(), 0);
  EXPECT_GT(columns.max().item<std::int64_t>(), 540 / 2);
}

// A constant learning rate of 0.001 is drawn in the middle of its chart, not flat on an axis
// running from -0.5 to 0.5.
TEST(HistoryPlot, ConstantLearningRateIsDrawnAtItsHeight) {
  testing::TempDir dir;
  std::vector<EpochRecord> history = synthetic_history(/*with_validation=*/true);
  for (EpochRecord& r : history) r.learning_rate = 1e-3;
  write_history_plot(history, dir / "history.png");
  torch::Tensor rgb = decode_png_rgb(testing::read_bytes(dir / "history.png"));
  // Inside the plot box (rows 72-342 of 400, after the y axis's labels), below the legend.
  torch::Tensor box = rgb.slice(0, 73, 342).slice(1, 1080 + 90, 1620 - 30);
  torch::Tensor rows =
      ((box.select(2, 0) == 31) & (box.select(2, 1) == 119) & (box.select(2, 2) == 180))
          .any(1)
          .nonzero()
          .flatten();
  ASSERT_GT(rows.numel(), 0);
  // The line lies in the middle third of the box.
  EXPECT_GT(rows.min().item<std::int64_t>(), 269 / 3);
  EXPECT_LT(rows.max().item<std::int64_t>(), 2 * 269 / 3);
}

TEST(HistoryPlot, NoBestMarkerWithoutValidation) {
  testing::TempDir dir;
  write_history_plot(synthetic_history(/*with_validation=*/false), dir / "history.png");
  torch::Tensor rgb = decode_png_rgb(testing::read_bytes(dir / "history.png"));
  EXPECT_EQ(green_pixels(rgb), 0);
}

TEST(HistoryPlot, LeavesOutAValidationCurveWithNoValues) {
  testing::TempDir dir;
  write_history_plot(synthetic_history(/*with_validation=*/false), dir / "history.png");
  torch::Tensor rgb = decode_png_rgb(testing::read_bytes(dir / "history.png"));
  EXPECT_GT(blue_pixels(rgb), 300);
  EXPECT_EQ(orange_pixels(rgb), 0);
}

TEST(HistoryPlot, OneEpochStillShowsItsPoint) {
  testing::TempDir dir;
  std::vector<EpochRecord> history = synthetic_history(/*with_validation=*/true);
  history.resize(1);
  write_history_plot(history, dir / "history.png");
  torch::Tensor rgb = decode_png_rgb(testing::read_bytes(dir / "history.png"));
  EXPECT_GT(orange_pixels(rgb), 2 * 20);  // the validation markers and the legend sample
}

TEST(HistoryPlot, EmptyHistoryOrUnwritablePathIsAnError) {
  testing::TempDir dir;
  EXPECT_THROW(write_history_plot({}, dir / "h.png"), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "h.png"));
  EXPECT_THROW(write_history_plot(synthetic_history(true), dir / "missing" / "h.png"), Error);
}

// A title longer than the grid (a model's long path) widens the picture instead of being cut.
TEST(HeatMap, LongTitleWidensThePicture) {
  HeatMap map{std::string(120, 'W'),
              "predicted",
              "true",
              torch::tensor({7, 0, 0, 7}, torch::kInt64).view({2, 2}),
              {"a", "b"},
              {"a", "b"}};
  torch::Tensor rgb = decode_png_rgb(heat_map_png(map));
  EXPECT_GT(rgb.size(1), 120 * 10);
  EXPECT_TRUE((rgb.select(1, 0) == 255).all().item<bool>());
  EXPECT_TRUE((rgb.select(1, rgb.size(1) - 1) == 255).all().item<bool>());
}

TEST(HeatMap, DarkestWhereARowIsAllInOneCell) {
  HeatMap map{"t",        "predicted",
              "true",     torch::tensor({7, 0, 0, 7}, torch::kInt64).view({2, 2}),
              {"a", "b"}, {"a", "b"}};
  torch::Tensor rgb = decode_png_rgb(heat_map_png(map));
  // Two diagonal cells of 52x52 in the darkest blue, less the digits written on them.
  std::int64_t darkest = count_pixels(rgb, 8, 48, 107, 2);
  EXPECT_GT(darkest, 2 * 45 * 45);
  EXPECT_LE(darkest, 2 * 52 * 52);

  map.counts = torch::zeros({2, 2}, torch::kInt64);
  EXPECT_EQ(count_pixels(decode_png_rgb(heat_map_png(map)), 8, 48, 107, 2), 0);
}

TEST(HeatMap, RejectsNamesThatDoNotFitTheCounts) {
  HeatMap map{"t", "x", "y", torch::zeros({2, 2}, torch::kInt64), {"a"}, {"a", "b"}};
  EXPECT_THROW(heat_map_png(map), c10::Error);
}

TEST(ImageGrid, ShowsEachTileThreeTimesLarger) {
  torch::Tensor pixels = torch::zeros({28, 28}, torch::kUInt8);
  pixels.slice(0, 9, 19).slice(1, 9, 19).fill_(128);
  std::vector<Tile> tiles = {{pixels, ""}, {pixels, ""}, {pixels, ""}};
  torch::Tensor rgb = decode_png_rgb(image_grid_png(tiles, "", /*columns=*/2));
  // Three 10x10 gray squares, each drawn 30x30 (give or take a column at a half-pixel offset).
  std::int64_t gray = count_pixels(rgb, 128, 128, 128);
  EXPECT_GE(gray, 3 * 29 * 29);
  EXPECT_LE(gray, 3 * 31 * 31);
  // Two columns, two rows: taller than one tile, and less wide than three tiles side by side.
  EXPECT_GT(rgb.size(0), 2 * 84);
  EXPECT_LT(rgb.size(1), 3 * 84 + 3 * 16 + 20);
}

TEST(ImageGrid, NoTilesGivesJustTheTitle) {
  torch::Tensor rgb = decode_png_rgb(image_grid_png({}, "nothing wrong", /*columns=*/6));
  EXPECT_GT(rgb.size(1), 50);
  EXPECT_GT(count_pixels(rgb, 0, 0, 0, 40), 20);
}

}  // namespace
}  // namespace fmnist
