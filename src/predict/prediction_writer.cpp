#include "fmnist/predict/prediction_writer.hpp"

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

class TextWriter : public PredictionWriter {
 public:
  TextWriter(std::ostream& out, std::vector<std::string> class_names)
      : out_(out), class_names_(std::move(class_names)) {}

  void write(const Prediction& prediction) override {
    if (!prediction.error.empty()) return;  // its error line went to stderr
    std::string line = prediction.input + ": ";
    for (std::size_t k = 0; k < prediction.scores.size(); ++k) {
      const ClassScore& score = prediction.scores[k];
      line += fmt::format("{}{} {:.1f}%", k > 0 ? ", " : "", class_names_.at(score.label),
                          100 * score.probability);
    }
    out_ << line << "\n";
  }
  void finish() override { out_.flush(); }

 private:
  std::ostream& out_;
  std::vector<std::string> class_names_;
};

// Streams the document's array element by element, so 100,000 inputs never sit in one tree.
// Each element is put together from its values as nlohmann writes them: building it as an
// ordered_json object (a dozen allocations) took 7 µs of a served image.
class JsonWriter : public PredictionWriter {
 public:
  JsonWriter(std::ostream& out, std::vector<std::string> class_names)
      : out_(out), class_names_(std::move(class_names)) {}

  void write(const Prediction& prediction) override {
    std::string item = "{\"input\":" + dump(prediction.input);
    if (prediction.error.empty()) {
      item += ",\"top\":[";
      for (std::size_t k = 0; k < prediction.scores.size(); ++k) {
        const ClassScore& score = prediction.scores[k];
        item +=
            fmt::format("{}{{\"label\":{},\"class\":{},\"probability\":{}}}", k > 0 ? "," : "",
                        score.label, dump(class_names_.at(score.label)), dump(score.probability));
      }
      item += "]";
    } else {
      item += ",\"error\":" + dump(prediction.error);
      ++failed_;
    }
    out_ << (written_++ == 0 ? "{\"predictions\": [\n  " : ",\n  ") << item << "}";
  }

  void finish() override {
    out_ << (written_ == 0 ? "{\"predictions\": []" : "\n]") << ", \"failed\": " << failed_
         << "}\n";
    out_.flush();
  }

 private:
  // A string or number as JSON. File names need not be UTF-8; invalid bytes become U+FFFD
  // rather than an exception.
  template <typename Value>
  static std::string dump(const Value& value) {
    return nlohmann::json(value).dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                                      nlohmann::json::error_handler_t::replace);
  }

  std::ostream& out_;
  std::vector<std::string> class_names_;
  std::size_t written_ = 0;
  std::size_t failed_ = 0;
};

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

class CsvWriter : public PredictionWriter {
 public:
  CsvWriter(std::ostream& out, std::vector<std::string> class_names, std::int64_t top_k)
      : out_(out), class_names_(std::move(class_names)), top_k_(top_k) {
    std::string header = "input";
    for (std::int64_t k = 1; k <= top_k_; ++k) {
      header += fmt::format(",class_{0},probability_{0}", k);
    }
    out_ << header << ",error\n";
  }

  void write(const Prediction& prediction) override {
    std::string row = csv_field(prediction.input);
    for (std::int64_t k = 0; k < top_k_; ++k) {
      if (k < static_cast<std::int64_t>(prediction.scores.size())) {
        const ClassScore& score = prediction.scores[k];
        row += "," + csv_field(class_names_.at(score.label)) +
               fmt::format(",{:.6f}", score.probability);
      } else {
        row += ",,";
      }
    }
    out_ << row << "," << csv_field(prediction.error) << "\n";
  }
  void finish() override { out_.flush(); }

 private:
  std::ostream& out_;
  std::vector<std::string> class_names_;
  std::int64_t top_k_;
};

}  // namespace

OutputFormat parse_output_format(const std::string& name) {
  if (name == "text") return OutputFormat::kText;
  if (name == "json") return OutputFormat::kJson;
  if (name == "csv") return OutputFormat::kCsv;
  throw UsageError("--format: " + name + " not in {text,json,csv}");
}

std::unique_ptr<PredictionWriter> make_prediction_writer(OutputFormat format, std::ostream& out,
                                                         std::vector<std::string> class_names,
                                                         std::int64_t top_k) {
  switch (format) {
    case OutputFormat::kJson:
      return std::make_unique<JsonWriter>(out, std::move(class_names));
    case OutputFormat::kCsv:
      return std::make_unique<CsvWriter>(out, std::move(class_names), top_k);
    case OutputFormat::kText:
      break;
  }
  return std::make_unique<TextWriter>(out, std::move(class_names));
}

}  // namespace fmnist
