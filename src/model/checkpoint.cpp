#include "fmnist/model/checkpoint.hpp"

#include <torch/version.h>

#include <algorithm>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

// Far above any model of ours (a few MB); stops us reading a huge wrong file into memory.
constexpr std::uint64_t kMaxCheckpointBytes = std::uint64_t{1} << 30;

c10::List<std::string> to_list(const std::vector<std::string>& strings) {
  c10::List<std::string> list;
  for (const auto& s : strings) list.push_back(s);
  return list;
}

// The settings added after format version 1 first shipped; read_settings gives defaults for
// checkpoints without them.
void write_settings(torch::serialize::OutputArchive& archive, const TrainSettings& settings) {
  archive.write("settings.validation", c10::IValue(settings.validation));
  archive.write("settings.val_split", c10::IValue(settings.val_split));
  archive.write("settings.lr_schedule", c10::IValue(settings.lr_schedule));
  archive.write("settings.warmup_epochs", c10::IValue(settings.warmup_epochs));
  archive.write("settings.step_size", c10::IValue(settings.step_size));
  archive.write("settings.step_gamma", c10::IValue(settings.step_gamma));
  archive.write("settings.weight_decay", c10::IValue(settings.weight_decay));
  archive.write("settings.patience", c10::IValue(settings.patience));
  archive.write("settings.augment", c10::IValue(settings.augment));
  archive.write("settings.device", c10::IValue(settings.device));
}

void write_metadata(torch::serialize::OutputArchive& archive, const Checkpoint& checkpoint) {
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("version", c10::IValue(kCheckpointVersion));
  archive.write("arch", c10::IValue(checkpoint.arch));
  archive.write("arch.image_size", c10::IValue(kImageSize));
  archive.write("arch.dropout", c10::IValue(kDropout));
  archive.write("class_names", c10::IValue(to_list(checkpoint.class_names)));
  archive.write("pixel_scale", c10::IValue(checkpoint.pixel_scale));
  archive.write("epoch", c10::IValue(checkpoint.epoch));
  archive.write("settings.epochs", c10::IValue(checkpoint.settings.epochs));
  archive.write("settings.batch_size", c10::IValue(checkpoint.settings.batch_size));
  archive.write("settings.learning_rate", c10::IValue(checkpoint.settings.learning_rate));
  archive.write("settings.seed", c10::IValue(checkpoint.settings.seed));
  archive.write("settings.data_dir", c10::IValue(checkpoint.settings.data_dir));
  write_settings(archive, checkpoint.settings);
  archive.write("metrics.train_loss", c10::IValue(checkpoint.metrics.train.loss));
  archive.write("metrics.train_accuracy", c10::IValue(checkpoint.metrics.train.accuracy));
  archive.write("metrics.val_loss", c10::IValue(checkpoint.metrics.val.loss));
  archive.write("metrics.val_accuracy", c10::IValue(checkpoint.metrics.val.accuracy));
  archive.write("metrics.test_loss", c10::IValue(checkpoint.metrics.test.loss));
  archive.write("metrics.test_accuracy", c10::IValue(checkpoint.metrics.test.accuracy));
  archive.write("metrics.best_accuracy", c10::IValue(checkpoint.best_accuracy));
  archive.write("metrics.best_epoch", c10::IValue(checkpoint.best_epoch));
  archive.write("fmnist_version", c10::IValue(std::string(FMNIST_VERSION)));
  archive.write("torch_version", c10::IValue(std::string(TORCH_VERSION)));
}

// Typed reads that name the file and the field when something is missing or of a wrong type.
class MetadataReader {
 public:
  MetadataReader(torch::serialize::InputArchive& archive, std::string name)
      : archive_(archive), name_(std::move(name)) {}

  c10::IValue value(const std::string& key) {
    c10::IValue value;
    if (!archive_.try_read(key, value)) {
      throw CheckpointError(
          name_ + ": " + (key == "format" ? "not an fmnist checkpoint" : "incomplete checkpoint") +
          " (no '" + key + "' field)");
    }
    return value;
  }
  std::string string(const std::string& key) {
    return typed(key, &c10::IValue::isString).toStringRef();
  }
  std::int64_t integer(const std::string& key) { return typed(key, &c10::IValue::isInt).toInt(); }
  double real(const std::string& key) { return typed(key, &c10::IValue::isDouble).toDouble(); }
  bool boolean(const std::string& key) { return typed(key, &c10::IValue::isBool).toBool(); }
  // Fields that older checkpoints lack: `fallback` then.
  std::string string(const std::string& key, const std::string& fallback) {
    return present(key) ? string(key) : fallback;
  }
  std::int64_t integer(const std::string& key, std::int64_t fallback) {
    return present(key) ? integer(key) : fallback;
  }
  double real(const std::string& key, double fallback) {
    return present(key) ? real(key) : fallback;
  }
  bool boolean(const std::string& key, bool fallback) {
    return present(key) ? boolean(key) : fallback;
  }
  std::vector<std::string> strings(const std::string& key) {
    c10::IValue list = value(key);
    std::vector<std::string> result;
    if (!list.isList()) bad_type(key);
    for (const c10::IValue& item : list.toListRef()) {
      if (!item.isString()) bad_type(key);
      result.push_back(item.toStringRef());
    }
    return result;
  }

 private:
  bool present(const std::string& key) {
    c10::IValue ignored;
    return archive_.try_read(key, ignored);
  }
  c10::IValue typed(const std::string& key, bool (c10::IValue::*is_type)() const) {
    c10::IValue result = value(key);
    if (!(result.*is_type)()) bad_type(key);
    return result;
  }
  [[noreturn]] void bad_type(const std::string& key) {
    throw CheckpointError(name_ + ": corrupt checkpoint ('" + key + "' has the wrong type)");
  }

  torch::serialize::InputArchive& archive_;
  std::string name_;
};

void check_compatible(MetadataReader& reader, const std::string& name) {
  if (reader.string("format") != kCheckpointFormat) {
    throw CheckpointError(name + ": not an fmnist checkpoint (format '" + reader.string("format") +
                          "')");
  }
  std::int64_t version = reader.integer("version");
  if (version != kCheckpointVersion) {
    throw CheckpointError(name + ": checkpoint format version " + std::to_string(version) +
                          " is not supported (this fmnist reads version " +
                          std::to_string(kCheckpointVersion) + ")");
  }
  std::string arch = reader.string("arch");
  const auto& archs = supported_archs();
  if (std::find(archs.begin(), archs.end(), arch) == archs.end() ||
      reader.integer("arch.image_size") != kImageSize) {
    throw CheckpointError(name + ": architecture '" + arch +
                          "' is not supported (this fmnist has 'cnn' and 'cnn-bn')");
  }
}

TrainSettings read_settings(MetadataReader& reader) {
  TrainSettings settings;  // its defaults are what fmnist did before a field existed
  settings.epochs = reader.integer("settings.epochs");
  settings.batch_size = reader.integer("settings.batch_size");
  settings.learning_rate = reader.real("settings.learning_rate");
  settings.seed = reader.integer("settings.seed");
  settings.data_dir = reader.string("settings.data_dir");
  settings.validation = reader.string("settings.validation", settings.validation);
  settings.val_split = reader.real("settings.val_split", settings.val_split);
  settings.lr_schedule = reader.string("settings.lr_schedule", settings.lr_schedule);
  settings.warmup_epochs = reader.integer("settings.warmup_epochs", settings.warmup_epochs);
  settings.step_size = reader.integer("settings.step_size", settings.step_size);
  settings.step_gamma = reader.real("settings.step_gamma", settings.step_gamma);
  settings.weight_decay = reader.real("settings.weight_decay", settings.weight_decay);
  settings.patience = reader.integer("settings.patience", settings.patience);
  settings.augment = reader.boolean("settings.augment", settings.augment);
  settings.device = reader.string("settings.device", settings.device);
  return settings;
}

Checkpoint read_checkpoint(torch::serialize::InputArchive& archive, const std::string& name) {
  MetadataReader reader(archive, name);
  check_compatible(reader, name);
  Checkpoint checkpoint;
  checkpoint.arch = reader.string("arch");
  checkpoint.class_names = reader.strings("class_names");
  if (static_cast<std::int64_t>(checkpoint.class_names.size()) != kNumClasses) {
    throw CheckpointError(name + ": has " + std::to_string(checkpoint.class_names.size()) +
                          " class names, the model has " + std::to_string(kNumClasses) +
                          " outputs");
  }
  checkpoint.pixel_scale = reader.real("pixel_scale");
  checkpoint.epoch = reader.integer("epoch");
  checkpoint.settings = read_settings(reader);
  checkpoint.metrics.train = {reader.real("metrics.train_loss"),
                              reader.real("metrics.train_accuracy")};
  checkpoint.metrics.test = {reader.real("metrics.test_loss"),
                             reader.real("metrics.test_accuracy")};
  // Before held-out validation existed, fmnist validated on the test set.
  checkpoint.metrics.val = {reader.real("metrics.val_loss", checkpoint.metrics.test.loss),
                            reader.real("metrics.val_accuracy", checkpoint.metrics.test.accuracy)};
  checkpoint.best_accuracy = reader.real("metrics.best_accuracy");
  checkpoint.best_epoch = reader.integer("metrics.best_epoch", checkpoint.epoch);
  checkpoint.fmnist_version = reader.string("fmnist_version");
  checkpoint.torch_version = reader.string("torch_version");
  return checkpoint;
}

}  // namespace

void save_checkpoint(const fs::path& path, const Checkpoint& checkpoint,
                     const torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive;
  write_metadata(archive, checkpoint);
  torch::serialize::OutputArchive weights;
  checkpoint.model->save(weights);
  archive.write("model", weights);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

Checkpoint load_checkpoint(const fs::path& path, torch::Device device) {
  const std::string name = path.string();
  std::string bytes = read_file(path, kMaxCheckpointBytes);
  if (bytes.empty()) throw CheckpointError(name + ": file is empty");
  auto archive = std::make_shared<torch::serialize::InputArchive>();
  try {
    std::istringstream stream(std::move(bytes));
    archive->load_from(stream, device);
  } catch (const c10::Error& e) {
    throw CheckpointError(name + ": not a readable checkpoint (" + describe(e) + ")");
  }
  Checkpoint checkpoint = read_checkpoint(*archive, name);
  checkpoint.model = Cnn(checkpoint.arch);
  try {
    torch::serialize::InputArchive weights;
    archive->read("model", weights);
    checkpoint.model->load(weights);
  } catch (const c10::Error& e) {
    throw CheckpointError(name + ": weights do not fit the '" + checkpoint.arch +
                          "' architecture (" + describe(e) + ")");
  }
  checkpoint.model->to(device);
  checkpoint.model->eval();
  auto optimizer_state = std::make_shared<torch::serialize::InputArchive>();
  if (archive->try_read("optimizer", *optimizer_state)) {
    checkpoint.optimizer_state = std::move(optimizer_state);
  }
  return checkpoint;
}

}  // namespace fmnist
