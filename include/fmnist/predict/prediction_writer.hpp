#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fmnist/predict/class_score.hpp"

namespace fmnist {

enum class OutputFormat { kText, kJson, kCsv };

// "text", "json" or "csv"; UsageError naming --format otherwise.
OutputFormat parse_output_format(const std::string& name);

// What predict says about one input: its `scores` (best first), or the `error` that stopped it.
struct Prediction {
  std::string input;
  std::vector<ClassScore> scores;
  std::string error;
};

// Writes predictions to a stream as they come, one per input:
// text: "bag.jpg: Bag 99.2%, Shirt 0.5%" (failed inputs only on stderr);
// json: one document {"predictions": [{"input", "top": [{"label", "class", "probability"}]}
//       or {"input", "error"}, ...], "failed": N};
// csv:  a header, then input,class_1,probability_1,...,class_K,probability_K,error.
class PredictionWriter {
 public:
  virtual ~PredictionWriter() = default;
  virtual void write(const Prediction& prediction) = 0;
  virtual void finish() = 0;  // completes the document
};

std::unique_ptr<PredictionWriter> make_prediction_writer(OutputFormat format, std::ostream& out,
                                                         std::vector<std::string> class_names,
                                                         std::int64_t top_k);

}  // namespace fmnist
