#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/model/inference.hpp"
#include "fmnist/predict/prediction_writer.hpp"

namespace fmnist {

// Images per forward pass: bounds memory whatever the number of inputs.
inline constexpr std::int64_t kPredictBatchSize = 256;

// Starting LibTorch's thread pools takes 10-15 ms: a cold predict of one small PNG took
// 306-310 ms on one thread against 319-324 ms on two (2 cores). A few small files are done
// sooner on one thread; a directory, stdin's list and large photos (whose resizing runs in
// parallel) keep one thread per core.
inline constexpr std::size_t kFewInputFiles = 64;
inline constexpr std::uintmax_t kSmallInputBytes = std::uintmax_t{1} << 20;

struct PredictOptions {
  std::vector<std::string> inputs;  // files, directories, "-" for paths on stdin
  std::string model_path = "model.pt";
  std::int64_t top_k = 1;
  std::string format = "text";
  std::string save_input_dir;  // where to write the 28x28 images the model saw; "" for none
  std::int64_t batch_size = kPredictBatchSize;
  std::string device = "auto";
  int threads = 0;
  bool tta = false;  // test-time augmentation: average with each image's mirror
};

// The `top_k` most probable classes of each input (float [N, 1, 28, 28]), best first.
std::vector<std::vector<ClassScore>> classify(InferenceModel& model, const torch::Tensor& inputs,
                                              std::int64_t top_k);

// The `top_k` largest of each row of class probabilities [N, classes], best first (equal ones
// by class number): what classify returns, for probabilities computed elsewhere (fmnist
// serve's batches).
std::vector<std::vector<ClassScore>> top_classes(const torch::Tensor& probabilities,
                                                 std::int64_t top_k);

// Where --save-input writes the image the model saw for input number `index` (from 0):
// "000001-bag.png" for "photos/bag.jpg", numbered so same-named files from different
// directories stay apart.
std::string saved_input_name(std::size_t index, const std::string& input);

// The intra-op threads for predicting `inputs` (as PredictOptions::inputs) when --threads asked
// for `requested` (0: one per core): one for fewer than kFewInputFiles files of less than
// kSmallInputBytes in all when `requested` is 0, else `requested`.
int predict_threads(int requested, const std::vector<std::string>& inputs);

// `fmnist predict`: expands `options.inputs` (see collect_inputs; "-" reads `in`), runs the
// images through the model `batch_size` at a time and writes one prediction per input to
// `out` in `options.format`. An input that cannot be read gets its error line and the others
// are still predicted; then AlreadyReported says how many failed.
void run_predict(const PredictOptions& options, std::istream& in, std::ostream& out);

}  // namespace fmnist
