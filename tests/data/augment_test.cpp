#include "fmnist/data/augment.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

// Every image is one lit pixel at (row 10, column 5).
torch::Tensor dots(std::int64_t count) {
  torch::Tensor images = torch::zeros({count, 1, 28, 28});
  images.index_put_({torch::indexing::Slice(), 0, 10, 5}, 1.0);
  return images;
}

TEST(AugmentTest, MovesEachItemByAtMostThePadOrMirrorsIt) {
  torch::manual_seed(1);
  torch::Tensor out = augment_batch(dots(200));
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{200, 1, 28, 28}));
  int mirrored = 0, shifted = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    torch::Tensor lit = out[i][0].nonzero();
    ASSERT_EQ(lit.size(0), 1) << "image " << i;  // the pixel is never lost or duplicated
    std::int64_t row = lit[0][0].item<std::int64_t>(), col = lit[0][1].item<std::int64_t>();
    bool was_mirrored = col > 14;
    std::int64_t source_col = was_mirrored ? 27 - 5 : 5;
    EXPECT_LE(std::abs(row - 10), kAugmentPad);
    EXPECT_LE(std::abs(col - source_col), kAugmentPad);
    mirrored += was_mirrored;
    shifted += row != 10 || col != source_col;
  }
  // Both transforms happen, to some images only.
  EXPECT_GT(mirrored, 50);
  EXPECT_LT(mirrored, 150);
  EXPECT_GT(shifted, 100);
}

TEST(AugmentTest, SameSeedSameBatch) {
  torch::Tensor images = torch::rand({16, 1, 28, 28});
  torch::manual_seed(5);
  torch::Tensor a = augment_batch(images);
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(a, augment_batch(images)));
}

TEST(AugmentTest, ErasingSetsOneRectangleInsideTheImageToZero) {
  torch::manual_seed(2);
  torch::Tensor ones = torch::ones({300, 1, 28, 28});
  torch::Tensor out = erase_batch(ones, /*probability=*/0.5);
  ASSERT_EQ(out.sizes(), ones.sizes());
  int erased = 0;
  for (std::int64_t i = 0; i < 300; ++i) {
    torch::Tensor zeros = (out[i][0] == 0).nonzero();
    if (zeros.size(0) == 0) continue;
    ++erased;
    auto rows = zeros.select(/*dim=*/1, 0), cols = zeros.select(/*dim=*/1, 1);
    std::int64_t height = rows.max().item<std::int64_t>() - rows.min().item<std::int64_t>() + 1;
    std::int64_t width = cols.max().item<std::int64_t>() - cols.min().item<std::int64_t>() + 1;
    EXPECT_EQ(height * width, zeros.size(0)) << "image " << i << " is not one rectangle";
    EXPECT_LE(height * width, static_cast<std::int64_t>(kEraseAreaMax * 28 * 28 * 1.2) + 28);
  }
  EXPECT_GT(erased, 100);
  EXPECT_LT(erased, 200);
}

TEST(AugmentTest, ErasingIsDeterministicFromTheSeedAndOffAtZero) {
  torch::Tensor images = torch::rand({16, 1, 28, 28});
  torch::manual_seed(9);
  torch::Tensor first = erase_batch(images, 1.0);
  torch::manual_seed(9);
  EXPECT_TRUE(torch::equal(erase_batch(images, 1.0), first));
  EXPECT_TRUE(torch::equal(erase_batch(images, 0.0), images));
}

}  // namespace
}  // namespace fmnist
