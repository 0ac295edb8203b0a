#include "torchscript_checkpoint.hpp"

#include <algorithm>
#include <regex>
#include <sstream>
#include <string_view>

#include "fmnist/base/error.hpp"
#include "fmnist/kernels/adam.hpp"

namespace fmnist::detail {
namespace {

// Bounds far above what fmnist 0.1 wrote (its largest code file is under 2 KB).
constexpr std::uint64_t kMaxCodeBytes = 16 << 10;
constexpr std::uint64_t kMaxPickleBytes = 64 << 10;
constexpr std::uint64_t kMaxSmallEntryBytes = 4 << 10;

// One line of a code file that only declares: the class line, the parameter and buffer lists,
// and attribute declarations of the types fmnist 0.1's modules and optimizer state have.
bool is_declaration(const std::string& line) {
  static const std::string type = R"((Tensor|int|float|str|bool|List\[str\]|Tuple\[float, float\]|)"
                                  R"(__torch__\.___torch_mangle_[0-9]+\.Module))";
  static const std::string quoted = R"("[A-Za-z0-9_./]+")";
  static const std::regex declaration(
      "class Module\\(Module\\):|"
      "  __(parameters|buffers)__ = \\[(" +
      quoted +
      ", )*\\]|"
      "  __annotations__ = \\[\\]|"
      "  [A-Za-z_][A-Za-z0-9_]* : " +
      type +
      "|"
      "  __annotations__\\[" +
      quoted + "\\] = " + type);
  return std::regex_match(line, declaration);
}

bool is_code_file(const std::string& name) {
  static const std::regex code(R"(code/__torch__(/___torch_mangle_[0-9]+)?\.py)");
  return std::regex_match(name, code);
}

// The source ranges TorchScript keeps beside each code file (a pickle of plain data).
bool is_debug_file(const std::string& name) {
  const std::string suffix = ".debug_pkl";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         is_code_file(name.substr(0, name.size() - suffix.size()));
}

// The largest size each entry of a format-1 archive may have; 0 for a name it never holds.
std::uint64_t size_bound(const std::string& name) {
  static const std::regex tensor(R"(data/[0-9]+)");
  if (name == "data.pkl") return kMaxPickleBytes;
  // byteorder and .data/serialization_id: what fmnist 0.1 built on LibTorch 2 wrote besides.
  if (name == "constants.pkl" || name == "version" || name == ".data/version" ||
      name == "byteorder" || name == ".data/serialization_id") {
    return kMaxSmallEntryBytes;
  }
  if (std::regex_match(name, tensor)) return max_checkpoint_tensor_bytes();
  if (is_code_file(name)) return kMaxCodeBytes;
  if (is_debug_file(name)) return kMaxSmallEntryBytes;
  return 0;
}

void check_code(std::string_view code, const std::string& name, const std::string& entry) {
  std::istringstream lines{std::string(code)};
  std::string line;
  int classes = 0;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    if (line.rfind("class ", 0) == 0) ++classes;
    if (!is_declaration(line) || classes > 1) {
      std::string shown = line.substr(0, 48) + (line.size() > 48 ? "..." : "");
      throw CheckpointError(name + ": refused: its " + entry +
                            " holds code fmnist never writes (line " + std::to_string(number) +
                            ": '" + shown + "'); a crafted checkpoint can run code when loaded");
    }
  }
}

void check_archive(const std::string& bytes, const std::map<std::string, ArchiveEntry>& entries,
                   const std::string& name) {
  if (entries.count("data.pkl") == 0) {
    throw CheckpointError(name + ": not an fmnist checkpoint (a TorchScript archive without data)");
  }
  for (const auto& [entry_name, entry] : entries) {
    const std::uint64_t bound = size_bound(entry_name);
    if (bound == 0) {
      throw CheckpointError(name +
                            ": refused: a TorchScript archive with an entry fmnist never "
                            "writes ('" +
                            entry_name + "')");
    }
    if (entry.size > bound) {
      throw CheckpointError(name + ": refused: its entry '" + entry_name + "' has " +
                            std::to_string(entry.size) +
                            " bytes, more than any fmnist "
                            "checkpoint holds");
    }
    if (entry.deflated && !is_code_file(entry_name) && !is_debug_file(entry_name)) {
      throw CheckpointError(name + ": refused: its entry '" + entry_name +
                            "' is compressed, which fmnist 0.1 never did");
    }
    if (is_code_file(entry_name)) {
      std::optional<std::string> code = read_entry(bytes, entry);
      if (!code) {
        throw CheckpointError(name + ": not a readable checkpoint (its " + entry_name +
                              " does not decompress)");
      }
      check_code(*code, name, entry_name);
    }
  }
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
  if (version != kTorchScriptCheckpointVersion) {
    throw CheckpointError(name + ": checkpoint format version " + std::to_string(version) +
                          " is not supported (this fmnist reads versions " +
                          std::to_string(kTorchScriptCheckpointVersion) + " and " +
                          std::to_string(kCheckpointVersion) + ")");
  }
  std::string arch = reader.string("arch");
  const auto& archs = supported_archs();
  if (std::find(archs.begin(), archs.end(), arch) == archs.end() ||
      reader.integer("arch.image_size") != kImageSize) {
    throw CheckpointError(name + ": architecture '" + arch +
                          "' is not supported (fmnist 0.1 had 'cnn' and 'cnn-bn')");
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

std::vector<OptimizerMoments> read_adam_moments(torch::serialize::InputArchive& archive, Net& model,
                                                const TrainSettings& settings) {
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(settings.learning_rate));
  optimizer.load(archive);
  return adam_moments(optimizer);
}

}  // namespace

bool is_torchscript_archive(const std::map<std::string, ArchiveEntry>& entries) {
  return std::any_of(entries.begin(), entries.end(), [](const auto& entry) {
    return entry.first.rfind("code/", 0) == 0 || entry.first == "constants.pkl";
  });
}

Checkpoint read_torchscript_checkpoint(const std::string& bytes,
                                       const std::map<std::string, ArchiveEntry>& entries,
                                       const std::string& name, torch::Device device) {
  check_archive(bytes, entries, name);
  torch::serialize::InputArchive archive;
  try {
    std::istringstream stream(bytes);
    archive.load_from(stream, device);
  } catch (const c10::Error& e) {
    throw CheckpointError(name + ": not a readable checkpoint (" + describe(e) + ")");
  }
  Checkpoint checkpoint = read_checkpoint(archive, name);
  checkpoint.format_version = kTorchScriptCheckpointVersion;
  checkpoint.model = Net(checkpoint.arch);
  try {
    torch::serialize::InputArchive weights;
    archive.read("model", weights);
    checkpoint.model->load(weights);
    torch::serialize::InputArchive optimizer;
    if (archive.try_read("optimizer", optimizer)) {
      checkpoint.optimizer_state =
          read_adam_moments(optimizer, checkpoint.model, checkpoint.settings);
    }
  } catch (const c10::Error& e) {
    throw CheckpointError(name + ": weights do not fit the '" + checkpoint.arch +
                          "' architecture (" + describe(e) + ")");
  }
  return checkpoint;
}

}  // namespace fmnist::detail
