#include "fmnist/data/validation.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"
#include "fmnist/data/fashion_mnist.hpp"

namespace fmnist {
namespace {

// 1000 images, label i % 10; image i holds the value i in its first pixels (to tell them apart).
Dataset numbered_dataset() {
  torch::Tensor ids = torch::arange(1000, torch::kInt64);
  torch::Tensor images = torch::zeros({1000, 1, 28, 28}, torch::kInt64);
  torch::Tensor first_row = images.select(/*dim=*/1, 0).select(/*dim=*/1, 0);
  first_row.select(/*dim=*/1, 0).copy_(torch::div(ids, 256, /*rounding_mode=*/"floor"));
  first_row.select(/*dim=*/1, 1).copy_(ids % 256);
  return {images.to(torch::kUInt8), ids % kNumClasses};
}

torch::Tensor ids_of(const Dataset& data) {
  torch::Tensor corner = data.images.select(1, 0).select(1, 0).to(torch::kInt64);
  return corner.select(1, 0) * 256 + corner.select(1, 1);
}

TEST(ValidationTest, HoldsOutTheFractionOfEveryClass) {
  TrainValSplit split = split_for_validation(numbered_dataset(), 0.1, /*seed=*/42);
  EXPECT_EQ(split.val.size(), 100);
  EXPECT_EQ(split.train.size(), 900);
  torch::Tensor per_class = split.val.labels.bincount(/*weights=*/{}, /*minlength=*/kNumClasses);
  EXPECT_TRUE(torch::equal(per_class, torch::full({kNumClasses}, 10, torch::kInt64)));
  // Labels travel with their images.
  EXPECT_TRUE(torch::equal(ids_of(split.val) % kNumClasses, split.val.labels));
}

TEST(ValidationTest, PartsAreDisjointAndCoverTheSet) {
  TrainValSplit split = split_for_validation(numbered_dataset(), 0.25, /*seed=*/1);
  torch::Tensor all = torch::cat({ids_of(split.train), ids_of(split.val)});
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(1000, torch::kInt64)));
}

TEST(ValidationTest, TheSeedAloneDecides) {
  torch::Tensor a = ids_of(split_for_validation(numbered_dataset(), 0.1, 42).val);
  torch::manual_seed(123);  // LibTorch's generator plays no part
  torch::Tensor b = ids_of(split_for_validation(numbered_dataset(), 0.1, 42).val);
  torch::Tensor c = ids_of(split_for_validation(numbered_dataset(), 0.1, 43).val);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

TEST(ValidationTest, RejectsFractionsThatLeaveNothing) {
  EXPECT_THROW(split_for_validation(numbered_dataset(), 0, 1), UsageError);
  EXPECT_THROW(split_for_validation(numbered_dataset(), 1, 1), UsageError);
  EXPECT_THROW(split_for_validation(numbered_dataset(), 0.001, 1), UsageError);  // 0.1 per class
}

}  // namespace
}  // namespace fmnist
