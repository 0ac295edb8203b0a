#include "fmnist/report/show.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "fmnist/base/error.hpp"

#include "test_util.hpp"

namespace fmnist {
namespace {

using Indices = std::vector<std::int64_t>;

ShowOptions options_with(std::optional<std::int64_t> index, std::optional<std::string> class_name,
                         std::int64_t count) {
  ShowOptions options;
  options.index = index;
  options.class_name = std::move(class_name);
  options.count = count;
  return options;
}

TEST(ShowSelection, ByIndexClippedToTheSplit) {
  torch::Tensor labels = torch::arange(50, torch::kInt64) % 10;
  EXPECT_EQ(select_show_images(labels, options_with(5, std::nullopt, 3)), (Indices{5, 6, 7}));
  EXPECT_EQ(select_show_images(labels, options_with(48, std::nullopt, 5)), (Indices{48, 49}));
  EXPECT_EQ(select_show_images(labels, options_with(std::nullopt, std::nullopt, 2)),
            (Indices{0, 1}));
}

TEST(ShowSelection, ByClassNameInAnyCase) {
  torch::Tensor labels = torch::arange(50, torch::kInt64) % 10;
  EXPECT_EQ(select_show_images(labels, options_with(std::nullopt, "bag", 2)), (Indices{8, 18}));
  EXPECT_EQ(select_show_images(labels, options_with(std::nullopt, "Ankle Boot", 9)),
            (Indices{9, 19, 29, 39, 49}));
}

TEST(ShowSelection, BadChoicesAreUsageErrors) {
  torch::Tensor labels = torch::arange(50, torch::kInt64) % 10;
  EXPECT_THROW(select_show_images(labels, options_with(50, std::nullopt, 1)), UsageError);
  EXPECT_THROW(select_show_images(labels, options_with(-1, std::nullopt, 1)), UsageError);
  EXPECT_THROW(select_show_images(labels, options_with(std::nullopt, "hat", 1)), UsageError);
  EXPECT_THROW(select_show_images(labels, options_with(1, "Bag", 1)), UsageError);
  EXPECT_THROW(select_show_images(labels, options_with(0, std::nullopt, 0)), UsageError);
  try {
    select_show_images(labels, options_with(std::nullopt, "hat", 1));
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'hat' is not a class (T-shirt/top, Trouser"),
              std::string::npos)
        << e.what();
  }
}

TEST(ShowSelection, ClassWithNoImagesIsADataError) {
  torch::Tensor labels = torch::zeros({5}, torch::kInt64);
  EXPECT_THROW(select_show_images(labels, options_with(std::nullopt, "Bag", 1)), DataError);
}

TEST(Show, WritesTheGridAndPrintsItsPath) {
  testing::TempDir dir;
  testing::write_dataset(dir.path(), /*train_count=*/20, /*test_count=*/20);
  ShowOptions options = options_with(std::nullopt, "Trouser", 4);
  options.data_dir = dir.path().string();
  options.out = (dir / "show.png").string();
  std::ostringstream out;
  run_show(options, out);
  EXPECT_EQ(out.str(), options.out + "\n");
  torch::Tensor rgb = testing::decode_png_rgb(testing::read_bytes(dir / "show.png"));
  // Two trousers (items 1 and 11) in a 2x2-capable grid.
  EXPECT_GT(rgb.size(0), 84 + 44);
  EXPECT_GT(rgb.size(1), 84);
}

TEST(Show, RefusesNamesThatAreNotPng) {
  ShowOptions options;
  for (const char* name : {"show.jpg", "show", "grid.PNG.txt"}) {
    options.out = name;
    std::ostringstream out;
    EXPECT_THROW(run_show(options, out), UsageError) << name;
  }
}

// Titles of every length fit the canvas: the grid widens to its title.
TEST(Show, TitleFitsANarrowGrid) {
  testing::TempDir dir;
  testing::write_dataset(dir.path(), /*train_count=*/20, /*test_count=*/20);
  ShowOptions options;
  options.data_dir = dir.path().string();
  options.index = 19;
  options.count = 1;
  options.out = (dir / "one.PNG").string();
  std::ostringstream out;
  run_show(options, out);
  torch::Tensor rgb = testing::decode_png_rgb(testing::read_bytes(dir / "one.PNG"));
  // "Fashion-MNIST test split, images 19-19" in bold 16 px is over 300 pixels wide; the
  // first and last columns stay white (nothing drawn past the edges).
  EXPECT_GT(rgb.size(1), 300);
  EXPECT_TRUE((rgb.select(1, 0) == 255).all().item<bool>());
  EXPECT_TRUE((rgb.select(1, rgb.size(1) - 1) == 255).all().item<bool>());
}

// The largest grid show draws: 400 images, 10 columns of 40 rows, each tile's image inside it.
TEST(Show, DrawsTheLargestGrid) {
  testing::TempDir dir;
  testing::write_dataset(dir.path(), /*train_count=*/20, /*test_count=*/kMaxShowCount);
  ShowOptions options;
  options.data_dir = dir.path().string();
  options.count = kMaxShowCount;
  options.out = (dir / "all.png").string();
  std::ostringstream out;
  run_show(options, out);
  torch::Tensor rgb = testing::decode_png_rgb(testing::read_bytes(dir / "all.png"));
  EXPECT_GT(rgb.size(0), 40 * 84);
  EXPECT_GT(rgb.size(1), 10 * 84);
  EXPECT_LT(rgb.size(1), 10 * 200);
}

}  // namespace
}  // namespace fmnist
