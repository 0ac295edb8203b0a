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

}  // namespace
}  // namespace fmnist
