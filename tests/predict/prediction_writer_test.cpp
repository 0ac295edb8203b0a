#include "fmnist/predict/prediction_writer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/data/fashion_mnist.hpp"

namespace fmnist {
namespace {

std::vector<Prediction> sample_predictions() {
  return {
      {"bag.jpg", {{8, 0.75}, {6, 0.25}}, ""},
      {"bad, \"quoted\".png", {}, "bad, \"quoted\".png: not a readable image"},
      {"dir/shoe.png", {{7, 1.0}, {5, 0.0}}, ""},
  };
}

std::string write_all(OutputFormat format, const std::vector<Prediction>& predictions) {
  std::ostringstream out;
  auto writer = make_prediction_writer(format, out, fashion_class_names(), /*top_k=*/2);
  for (const Prediction& prediction : predictions) writer->write(prediction);
  writer->finish();
  return out.str();
}

TEST(PredictionWriterTest, ParsesFormatNames) {
  EXPECT_EQ(parse_output_format("json"), OutputFormat::kJson);
  EXPECT_EQ(parse_output_format("csv"), OutputFormat::kCsv);
  EXPECT_EQ(parse_output_format("text"), OutputFormat::kText);
  EXPECT_THROW(parse_output_format("xml"), UsageError);
}

TEST(PredictionWriterTest, TextLeavesFailuresToStderr) {
  EXPECT_EQ(write_all(OutputFormat::kText, sample_predictions()),
            "bag.jpg: Bag 75.0%, Shirt 25.0%\ndir/shoe.png: Sneaker 100.0%, Sandal 0.0%\n");
}

TEST(PredictionWriterTest, JsonIsOneParseableDocument) {
  auto document = nlohmann::json::parse(write_all(OutputFormat::kJson, sample_predictions()));
  ASSERT_EQ(document["predictions"].size(), 3u);
  EXPECT_EQ(document["failed"], 1);
  const auto& bag = document["predictions"][0];
  EXPECT_EQ(bag["input"], "bag.jpg");
  EXPECT_EQ(bag["top"][0]["class"], "Bag");
  EXPECT_EQ(bag["top"][0]["label"], 8);
  EXPECT_DOUBLE_EQ(bag["top"][1]["probability"].get<double>(), 0.25);
  EXPECT_EQ(document["predictions"][1]["input"], "bad, \"quoted\".png");
  EXPECT_FALSE(document["predictions"][1].contains("top"));
  EXPECT_NE(document["predictions"][1]["error"].get<std::string>().find("not a readable"),
            std::string::npos);
}

// The exact text, which scripts and `fmnist serve`'s clients read: one element a line, numbers
// in their shortest round-trip form (1.0 keeps its point), control characters escaped.
TEST(PredictionWriterTest, JsonText) {
  std::vector<Prediction> predictions = sample_predictions();
  predictions.push_back({"a\tb.png", {{1, 0.9999998807907104}, {2, 1.2e-05}}, ""});
  EXPECT_EQ(
      write_all(OutputFormat::kJson, predictions),
      "{\"predictions\": [\n"
      "  {\"input\":\"bag.jpg\",\"top\":[{\"label\":8,\"class\":\"Bag\",\"probability\":0.75},"
      "{\"label\":6,\"class\":\"Shirt\",\"probability\":0.25}]},\n"
      "  {\"input\":\"bad, \\\"quoted\\\".png\",\"error\":\"bad, \\\"quoted\\\".png: not a "
      "readable image\"},\n"
      "  {\"input\":\"dir/shoe.png\",\"top\":[{\"label\":7,\"class\":\"Sneaker\","
      "\"probability\":1.0},{\"label\":5,\"class\":\"Sandal\",\"probability\":0.0}]},\n"
      "  {\"input\":\"a\\tb.png\",\"top\":[{\"label\":1,\"class\":\"Trouser\","
      "\"probability\":0.9999998807907104},{\"label\":2,\"class\":\"Pullover\","
      "\"probability\":1.2e-05}]}\n"
      "], \"failed\": 1}\n");
}

TEST(PredictionWriterTest, JsonWithoutInputsOrWithOddBytes) {
  auto empty = nlohmann::json::parse(write_all(OutputFormat::kJson, {}));
  EXPECT_TRUE(empty["predictions"].empty());
  EXPECT_EQ(empty["failed"], 0);
  // A file name that is not UTF-8 must not break the document.
  auto odd = nlohmann::json::parse(write_all(OutputFormat::kJson, {{"caf\xe9.png", {{1, 1}}, ""}}));
  EXPECT_EQ(odd["predictions"][0]["input"], "caf\xef\xbf\xbd.png");
}

TEST(PredictionWriterTest, CsvHasAHeaderAndOneQuotedRowPerInput) {
  EXPECT_EQ(write_all(OutputFormat::kCsv, sample_predictions()),
            "input,class_1,probability_1,class_2,probability_2,error\n"
            "bag.jpg,Bag,0.750000,Shirt,0.250000,\n"
            "\"bad, \"\"quoted\"\".png\",,,,,\"bad, \"\"quoted\"\".png: not a readable image\"\n"
            "dir/shoe.png,Sneaker,1.000000,Sandal,0.000000,\n");
}

TEST(PredictionWriterTest, CsvQuotesClassNamesWithCommas) {
  std::ostringstream out;
  auto writer = make_prediction_writer(OutputFormat::kCsv, out, {"a,b", "c"}, /*top_k=*/1);
  writer->write({"x\ny.png", {{0, 0.5}}, ""});
  EXPECT_EQ(out.str(), "input,class_1,probability_1,error\n\"x\ny.png\",\"a,b\",0.500000,\n");
}

}  // namespace
}  // namespace fmnist
