#include "fmnist/report/summary.hpp"

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <vector>

namespace fmnist {
namespace {

constexpr const char* kRule = "================================================================\n";
constexpr const char* kThinRule =
    "----------------------------------------------------------------\n";

struct LayerRow {
  std::string layer;
  std::string shape;
  std::int64_t parameters = 0;
};

std::string with_commas(std::int64_t number) {
  std::string digits = std::to_string(number);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

// "torch::nn::Conv2dImpl" -> "Conv2d"; steps that are not modules by their operation.
std::string layer_type(const std::string& step, const torch::nn::Module* module) {
  if (!module) {
    if (step == "flatten") return "Flatten";
    return step == "pool" ? "GlobalAvgPool2d" : "MaxPool2d+ReLU";
  }
  std::string type = module->name();
  type = type.substr(type.rfind(':') + 1);
  return type.substr(0, type.rfind("Impl"));
}

std::string shape_of(const torch::Tensor& output) {
  std::string shape = "(None";
  for (std::int64_t i = 1; i < output.dim(); ++i) shape += ", " + std::to_string(output.size(i));
  return shape + ")";
}

std::vector<LayerRow> trace_layers(Net& model) {
  auto children = model->named_children();
  std::vector<LayerRow> rows;
  auto record = [&](const std::string& step, const torch::Tensor& output) {
    const auto* child = children.find(step);
    const torch::nn::Module* module = child ? child->get() : nullptr;
    rows.push_back({step + " (" + layer_type(step, module) + ")", shape_of(output),
                    module ? count_parameters(*module) : 0});
  };
  torch::NoGradGuard no_grad;
  bool was_training = model->is_training();
  model->eval();  // batch norm on a single image
  auto device = model->parameters().front().device();
  model->forward(torch::zeros({1, 1, kImageSize, kImageSize}, device), /*dropout_mask=*/{}, record);
  model->train(was_training);
  return rows;
}

std::string percent_or_dash(double fraction) {
  return std::isnan(fraction) ? "-" : fmt::format("{:.2f}%", 100 * fraction);
}

std::string metrics_line(const char* split, const SplitMetrics& metrics) {
  if (std::isnan(metrics.loss)) return fmt::format("  {:<5} not measured\n", split);
  return fmt::format("  {:<5} loss {:.4f}  accuracy {}\n", split, metrics.loss,
                     percent_or_dash(metrics.accuracy));
}

// A number, or null where it was not measured (JSON has no NaN).
nlohmann::ordered_json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(value);
}

nlohmann::ordered_json split_json(const SplitMetrics& metrics) {
  return {{"loss", number_or_null(metrics.loss)}, {"accuracy", number_or_null(metrics.accuracy)}};
}

}  // namespace

std::string training_command(const Checkpoint& checkpoint) {
  const TrainSettings& s = checkpoint.settings;
  std::string command = "fmnist train";
  if (!s.recipe.empty()) command += " --recipe " + s.recipe;
  command +=
      fmt::format(" --arch {} --epochs {} --batch-size {} --optimizer {} --lr {} --seed {}",
                  checkpoint.arch, s.epochs, s.batch_size, s.optimizer, s.learning_rate, s.seed);
  command += fmt::format(" --val {}", s.validation);
  if (s.validation == kValidateOnSplit) command += fmt::format(" --val-split {}", s.val_split);
  command += fmt::format(" --lr-schedule {} --warmup-epochs {}", s.lr_schedule, s.warmup_epochs);
  if (s.lr_schedule == "step") {
    command += fmt::format(" --step-size {} --step-gamma {}", s.step_size, s.step_gamma);
  }
  command += fmt::format(" --weight-decay {} --label-smoothing {} --erasing {} --patience {}",
                         s.weight_decay, s.label_smoothing, s.erasing, s.patience);
  command += s.augment ? " --augment" : " --no-augment";
  return command + fmt::format(" --clean-epochs {}", s.clean_epochs);
}

std::string format_model_summary(Net& model) {
  std::string text = fmt::format("{:<28}{:<24}{:>12}\n", "Layer (type)", "Output Shape", "Param #");
  text += kRule;
  for (const LayerRow& row : trace_layers(model)) {
    text += fmt::format("{:<28}{:<24}{:>12}\n", row.layer, row.shape, with_commas(row.parameters));
  }
  text += kRule;
  std::int64_t total = count_parameters(*model);
  text += "Total params: " + with_commas(total) + "\n";
  text += "Trainable params: " + with_commas(total) + "\n";
  return text;
}

std::string format_checkpoint_info(Checkpoint& checkpoint, const std::string& path) {
  const TrainSettings& s = checkpoint.settings;
  std::string text = fmt::format("checkpoint: {} (arch {}, {} epoch{}", path, checkpoint.arch,
                                 checkpoint.epoch, checkpoint.epoch == 1 ? "" : "s");
  if (checkpoint.best_epoch > 0) {
    text += fmt::format("; best validation accuracy {} at epoch {}",
                        percent_or_dash(checkpoint.best_accuracy), checkpoint.best_epoch);
  }
  text += ")\n";
  text += "trained by: " + training_command(checkpoint) + "\n";
  text += "data:       " + s.data_dir + "\n";
  if (!s.out.empty()) {  // stored since fmnist 0.4: where `--resume` alone continues the run
    text += "outputs:    " + s.out +
            (s.checkpoint_dir.empty() ? "" : ", epoch files in " + s.checkpoint_dir) + "\n";
  }
  text += "device:     " + (s.device.empty() ? std::string("not recorded") : s.device) + "\n";
  text +=
      fmt::format("versions:   fmnist {}, LibTorch {}; checkpoint format {}\n",
                  checkpoint.fmnist_version, checkpoint.torch_version, checkpoint.format_version);
  text += "metrics of the saved model:\n";
  text += metrics_line("train", checkpoint.metrics.train);
  text += metrics_line("val", checkpoint.metrics.val);
  text += metrics_line("test", checkpoint.metrics.test);
  text += kThinRule;
  return text + format_model_summary(checkpoint.model);
}

std::string format_checkpoint_json(Checkpoint& checkpoint, const std::string& path) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const LayerRow& row : trace_layers(checkpoint.model)) {
    layers.push_back(
        {{"layer", row.layer}, {"output_shape", row.shape}, {"parameters", row.parameters}});
  }
  nlohmann::ordered_json best = nullptr;
  if (checkpoint.best_epoch > 0) {
    best = {{"accuracy", checkpoint.best_accuracy}, {"epoch", checkpoint.best_epoch}};
  }
  nlohmann::ordered_json document = {
      {"path", path},
      {"arch", checkpoint.arch},
      {"classes", checkpoint.class_names},
      {"epoch", checkpoint.epoch},
      {"best_validation", best},
      {"trained_by", training_command(checkpoint)},
      {"settings", nlohmann::ordered_json::parse(train_settings_json(checkpoint.settings))},
      {"metrics",
       {{"train", split_json(checkpoint.metrics.train)},
        {"val", split_json(checkpoint.metrics.val)},
        {"test", split_json(checkpoint.metrics.test)}}},
      {"versions",
       {{"fmnist", checkpoint.fmnist_version},
        {"libtorch", checkpoint.torch_version},
        {"checkpoint_format", checkpoint.format_version}}},
      {"parameters", count_parameters(*checkpoint.model)},
      {"layers", layers}};
  // A path need not be UTF-8: invalid bytes become U+FFFD rather than an exception.
  return document.dump(/*indent=*/2, /*indent_char=*/' ', /*ensure_ascii=*/false,
                       nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

void run_summary(const SummaryOptions& options, std::ostream& out) {
  Net model(options.arch);
  out << "arch: " << options.arch << "\n" << format_model_summary(model);
}

void run_info(const InfoOptions& options, std::ostream& out) {
  Checkpoint checkpoint = load_checkpoint(options.model_path, torch::kCPU);
  out << (options.json ? format_checkpoint_json(checkpoint, options.model_path)
                       : format_checkpoint_info(checkpoint, options.model_path));
}

}  // namespace fmnist
