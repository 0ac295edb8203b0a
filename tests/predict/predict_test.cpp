#include "fmnist/predict/predict.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/image/image.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

class PredictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::save_fresh_checkpoint(dir_ / "model.pt", /*seed=*/7);
    items_ = testing::make_split(/*count=*/10, /*seed=*/3).images;
  }

  // Test item `index` as a PNG at `relative` (directories created).
  std::string write_item(const std::string& relative, std::int64_t index) {
    fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    testing::write_bytes(path, testing::png_bytes(items_[index].unsqueeze(2)));
    return path.string();
  }

  PredictOptions options(std::vector<std::string> inputs) {
    PredictOptions options;
    options.inputs = std::move(inputs);
    options.model_path = (dir_ / "model.pt").string();
    options.device = "cpu";
    options.threads = 1;
    options.top_k = 3;
    options.format = "json";
    return options;
  }

  // run_predict's JSON document, and whether it reported failures.
  std::pair<nlohmann::json, bool> predict_json(const PredictOptions& options) {
    std::istringstream in;
    std::ostringstream out;
    bool failed = false;
    ::testing::internal::CaptureStderr();
    try {
      run_predict(options, in, out);
    } catch (const AlreadyReported&) {
      failed = true;
    }
    ::testing::internal::GetCapturedStderr();
    return {nlohmann::json::parse(out.str()), failed};
  }

  testing::TempDir dir_;
  torch::Tensor items_;
};

TEST_F(PredictTest, SmallBatchesGiveTheSameAnswersInOrder) {
  std::vector<std::string> inputs;
  for (std::int64_t i = 0; i < 7; ++i) inputs.push_back(write_item(std::to_string(i) + ".png", i));
  testing::write_bytes(dir_ / "bad.png", "not an image");
  inputs.insert(inputs.begin() + 3, (dir_ / "bad.png").string());

  PredictOptions one_pass = options(inputs);
  PredictOptions in_threes = options(inputs);
  in_threes.batch_size = 3;
  auto [whole, whole_failed] = predict_json(one_pass);
  auto [chunked, chunked_failed] = predict_json(in_threes);
  EXPECT_TRUE(whole_failed);
  EXPECT_TRUE(chunked_failed);
  ASSERT_EQ(chunked["predictions"].size(), inputs.size());
  EXPECT_EQ(chunked["failed"], 1);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& a = whole["predictions"][i];
    const auto& b = chunked["predictions"][i];
    EXPECT_EQ(b["input"], inputs[i]);
    EXPECT_EQ(a.contains("error"), b.contains("error")) << i;
    if (!a.contains("top")) continue;
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(a["top"][k]["label"], b["top"][k]["label"]) << i;
      EXPECT_NEAR(a["top"][k]["probability"].get<double>(),
                  b["top"][k]["probability"].get<double>(), 1e-6);
    }
  }
  EXPECT_TRUE(chunked["predictions"][3].contains("error"));
}

TEST_F(PredictTest, SavesWhatTheModelSawWithoutNameClashes) {
  std::string first = write_item("a/item.png", 1);
  std::string second = write_item("b/item.png", 6);
  PredictOptions save = options({first, second});
  save.save_input_dir = (dir_ / "seen" / "new").string();  // created on demand
  auto [document, failed] = predict_json(save);
  EXPECT_FALSE(failed);
  std::string paths[] = {first, second};
  for (std::size_t i = 0; i < 2; ++i) {
    fs::path saved = fs::path(save.save_input_dir) / saved_input_name(i, paths[i]);
    ASSERT_TRUE(fs::exists(saved)) << saved;
    torch::Tensor seen = decode_image(testing::read_bytes(saved), saved.string());
    torch::Tensor expected = preprocess_image(load_image(paths[i]), paths[i]).squeeze(0);
    ASSERT_EQ(seen.sizes(), expected.sizes());
    EXPECT_LE((seen - expected).abs().max().item<float>(), 0.5f / 255 + 1e-6f);
  }
}

TEST_F(PredictTest, SavedNamesAreNumbered) {
  EXPECT_EQ(saved_input_name(0, "photos/bag.jpg"), "000001-bag.png");
  EXPECT_EQ(saved_input_name(41, "x/y/bag.tar.png"), "000042-bag.tar.png");
  EXPECT_EQ(saved_input_name(0, std::string(300, 'n') + ".png").size(),
            std::string("000001-.png").size() + 200);
}

TEST_F(PredictTest, RefusesASaveDirectoryItCannotCreate) {
  testing::write_bytes(dir_ / "file", "x");
  PredictOptions save = options({write_item("x.png", 1)});
  save.save_input_dir = (dir_ / "file").string();
  std::istringstream in;
  std::ostringstream out;
  EXPECT_THROW(run_predict(save, in, out), UsageError);
}

TEST_F(PredictTest, AFewSmallFilesRunOnOneThreadUnlessAskedOtherwise) {
  const std::string png = write_item("a.png", 0);
  EXPECT_EQ(predict_threads(/*requested=*/0, {png, png}), 1);
  EXPECT_EQ(predict_threads(/*requested=*/2, {png}), 2);
  EXPECT_EQ(predict_threads(/*requested=*/0, {png, "-"}), 0);
  EXPECT_EQ(predict_threads(/*requested=*/0, {png, dir_.path().string()}), 0);
  EXPECT_EQ(predict_threads(/*requested=*/0, std::vector<std::string>(kFewInputFiles, png)), 0);
  testing::write_bytes(dir_ / "large.png", "x");
  fs::resize_file(dir_ / "large.png", kSmallInputBytes);  // sparse
  EXPECT_EQ(predict_threads(/*requested=*/0, {png, (dir_ / "large.png").string()}), 0);
  EXPECT_EQ(predict_threads(/*requested=*/0, {png, (dir_ / "missing.png").string()}), 1);

  PredictOptions one = options({png});
  one.threads = 0;
  predict_json(one);
  EXPECT_EQ(at::get_num_threads(), 1);
}

// top_classes picks what LibTorch's topk picks, in topk's order: best first, NaN before any
// number; equal scores by class number, where topk's order is unspecified.
TEST(TopClassesTest, OrdersAsTopk) {
  torch::manual_seed(4);
  torch::Tensor probabilities = torch::softmax(torch::randn({5, 10}), /*dim=*/1);
  probabilities[1][3] = probabilities[1][7] = probabilities[1][2] = 0.5;
  probabilities[2][6] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::vector<ClassScore>> top = top_classes(probabilities, /*top_k=*/3);
  auto [values, labels] = probabilities.topk(/*k=*/3);
  ASSERT_EQ(top.size(), 5u);
  for (std::int64_t i = 0; i < 5; ++i) {
    ASSERT_EQ(top[i].size(), 3u);
    for (std::int64_t k = 0; k < 3; ++k) {
      if (i != 1) {
        EXPECT_EQ(top[i][k].label, labels[i][k].item<std::int64_t>()) << i << " " << k;
      }
      if (i != 2 || k != 0) {
        EXPECT_FLOAT_EQ(top[i][k].probability, values[i][k].item<float>());
      }
    }
  }
  EXPECT_EQ(top[1][0].label, 2);
  EXPECT_EQ(top[1][1].label, 3);
  EXPECT_EQ(top[1][2].label, 7);
  EXPECT_TRUE(std::isnan(top[2][0].probability));
  EXPECT_THROW(top_classes(probabilities, /*top_k=*/11), c10::Error);
}

// Equal scores go to the lower class number; double scores keep their precision.
TEST(TopClassesTest, TiesGoToTheLowerClassAndDoublesStayDoubles) {
  std::vector<std::vector<ClassScore>> top = top_classes(torch::full({1, 10}, 0.1), /*top_k=*/3);
  ASSERT_EQ(top[0].size(), 3u);
  for (std::int64_t k = 0; k < 3; ++k) EXPECT_EQ(top[0][k].label, k);
  top = top_classes(torch::full({1, 10}, 0.1, torch::kDouble), /*top_k=*/1);
  EXPECT_EQ(top[0][0].probability, 0.1);
}

}  // namespace
}  // namespace fmnist
