#include "fmnist/model/checkpoint.hpp"

#include <c10/core/CPUAllocator.h>
#include <caffe2/serialize/inline_container.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/csrc/jit/serialization/storage_context.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "archive.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "torchscript_checkpoint.hpp"

namespace fmnist {
namespace {

// The optimizer states a checkpoint can hold, named by the optimizer they come from, and the
// tensors each keeps per parameter (Adam's serve adam and adamw).
constexpr const char* kAdamState = "adam";
constexpr const char* kSgdState = "sgd";

struct StateTensor {
  const char* name;
  torch::Tensor OptimizerMoments::*member;
};

const char* state_name(const std::string& optimizer) {
  return optimizer == kOptimizerSgd ? kSgdState : kAdamState;
}

const std::vector<StateTensor>& state_tensors(const std::string& state) {
  static const std::vector<StateTensor> adam = {{"exp_avg", &OptimizerMoments::exp_avg},
                                                {"exp_avg_sq", &OptimizerMoments::exp_avg_sq}};
  static const std::vector<StateTensor> sgd = {
      {"momentum_buffer", &OptimizerMoments::momentum_buffer}};
  return state == kSgdState ? sgd : adam;
}

namespace fs = std::filesystem;
using detail::ArchiveEntry;
using Json = nlohmann::ordered_json;

constexpr std::uint64_t kMaxPickleBytes = 1 << 20;
constexpr std::uint64_t kMaxSmallEntryBytes = 4 << 10;

// ---- writing ----------------------------------------------------------------------------------

// NaN (a metric not measured) is JSON null.
Json number(double value) { return std::isnan(value) ? Json() : Json(value); }

// Every TrainSettings field, by the names the file uses.
Json settings_of(const TrainSettings& s) {
  return Json{{"epochs", s.epochs},
              {"batch_size", s.batch_size},
              {"learning_rate", s.learning_rate},
              {"seed", s.seed},
              {"data_dir", s.data_dir},
              {"validation", s.validation},
              {"val_split", s.val_split},
              {"lr_schedule", s.lr_schedule},
              {"warmup_epochs", s.warmup_epochs},
              {"step_size", s.step_size},
              {"step_gamma", s.step_gamma},
              {"weight_decay", s.weight_decay},
              {"patience", s.patience},
              {"augment", s.augment},
              {"device", s.device},
              {"recipe", s.recipe},
              {"optimizer", s.optimizer},
              {"label_smoothing", s.label_smoothing},
              {"erasing", s.erasing},
              {"out", s.out},
              {"checkpoint_dir", s.checkpoint_dir},
              {"clean_epochs", s.clean_epochs}};
}

Json metadata_of(const Checkpoint& checkpoint) {
  const TrainSettings& s = checkpoint.settings;
  const Metrics& m = checkpoint.metrics;
  auto split = [](const SplitMetrics& metrics) {
    return Json{{"loss", number(metrics.loss)}, {"accuracy", number(metrics.accuracy)}};
  };
  Json metadata = {{"arch", checkpoint.arch},
                   {"image_size", kImageSize},
                   {"dropout", kDropout},
                   {"class_names", checkpoint.class_names},
                   {"pixel_scale", checkpoint.pixel_scale},
                   {"epoch", checkpoint.epoch},
                   {"settings", settings_of(s)},
                   {"metrics",
                    {{"train", split(m.train)},
                     {"val", split(m.val)},
                     {"test", split(m.test)},
                     {"best_accuracy", checkpoint.best_accuracy},
                     {"best_epoch", checkpoint.best_epoch}}},
                   {"fmnist_version", FMNIST_VERSION},
                   {"torch_version", TORCH_VERSION}};
  if (!checkpoint.optimizer_state.empty()) {
    Json steps = Json::array();
    for (const OptimizerMoments& moments : checkpoint.optimizer_state)
      steps.push_back(moments.step);
    metadata["optimizer"] = {{"name", state_name(s.optimizer)}, {"steps", steps}};
  }
  return metadata;
}

// A copy on the CPU that owns exactly its own storage, in the tensor's memory layout: the bytes
// written for it are then exactly its elements.
torch::Tensor storable(const torch::Tensor& tensor) {
  return tensor.detach().to(torch::kCPU).clone(torch::MemoryFormat::Preserve);
}

c10::impl::GenericDict tensor_dict() {
  return c10::impl::GenericDict(c10::StringType::get(), c10::TensorType::get());
}

c10::IValue document_of(const Checkpoint& checkpoint) {
  c10::impl::GenericDict weights = tensor_dict();
  for (const auto& item : checkpoint.model->named_parameters()) {
    weights.insert(item.key(), storable(item.value()));
  }
  for (const auto& item : checkpoint.model->named_buffers()) {
    weights.insert(item.key(), storable(item.value()));
  }
  c10::impl::GenericDict document(c10::StringType::get(), c10::AnyType::get());
  document.insert("format", std::string(kCheckpointFormat));
  document.insert("version", kCheckpointVersion);
  document.insert("metadata", metadata_of(checkpoint).dump());
  document.insert("model", weights);
  if (!checkpoint.optimizer_state.empty()) {
    c10::impl::GenericDict moments = tensor_dict();
    for (std::size_t i = 0; i < checkpoint.optimizer_state.size(); ++i) {
      const OptimizerMoments& m = checkpoint.optimizer_state[i];
      for (const StateTensor& tensor : state_tensors(state_name(checkpoint.settings.optimizer))) {
        moments.insert(std::to_string(i) + "." + tensor.name, storable(m.*tensor.member));
      }
    }
    document.insert("optimizer", moments);
  }
  return document;
}

// The zip LibTorch's pickle_save writes, but with untagged containers: Python's
// torch.load(weights_only=True) refuses the torch.jit type tags pickle_save adds.
std::string write_archive(const c10::IValue& document) {
  std::string pickle;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickle.append(data, size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr,
                              /*memoized_class_types=*/nullptr, /*get_tensor_id=*/nullptr,
                              /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(document);
  pickler.stop();
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  const std::vector<at::Tensor>& tensors = pickler.tensorData();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    // storable() gave each tensor its own storage, so the storage is the tensor's elements.
    writer.writeRecord("data/" + std::to_string(i), tensors[i].data_ptr(),
                       tensors[i].storage().nbytes());
  }
  writer.writeEndOfFile();
  return bytes;
}

// ---- reading ----------------------------------------------------------------------------------

std::string shown(const std::string& text) { return text.size() > 60 ? text.substr(0, 60) : text; }

// The largest size each entry of a format-2 archive may have; 0 for a name it never holds.
std::uint64_t size_bound(const std::string& name) {
  static const std::regex tensor(R"(data/[0-9]+)");
  if (name == "data.pkl") return kMaxPickleBytes;
  if (name == "version" || name == ".data/version" || name == "byteorder" ||
      name == ".data/serialization_id") {
    return kMaxSmallEntryBytes;
  }
  if (std::regex_match(name, tensor)) return detail::max_checkpoint_tensor_bytes();
  return 0;
}

void check_entries(const std::map<std::string, ArchiveEntry>& entries, const std::string& name) {
  if (entries.count("data.pkl") == 0) {
    throw CheckpointError(name + ": not an fmnist checkpoint (a zip archive without data.pkl)");
  }
  for (const auto& [entry_name, entry] : entries) {
    const std::uint64_t bound = size_bound(entry_name);
    if (bound == 0) {
      throw CheckpointError(name + ": not an fmnist checkpoint (it holds '" + shown(entry_name) +
                            "', which fmnist never writes)");
    }
    if (entry.size > bound) {
      throw CheckpointError(name + ": refused: its entry '" + entry_name + "' has " +
                            std::to_string(entry.size) +
                            " bytes, more than any fmnist checkpoint holds");
    }
    if (entry.deflated) {
      throw CheckpointError(name + ": not an fmnist checkpoint (its entry '" + entry_name +
                            "' is compressed, which fmnist never writes)");
    }
  }
}

// Unpickles data.pkl with no type resolver (no class can be made, no code runs). Each tensor's
// storage is the bytes of its record, read here, so that a storage can never claim more bytes
// than its record holds; check_tensor then bounds every tensor by its storage.
c10::IValue read_document(const std::string& bytes,
                          const std::map<std::string, ArchiveEntry>& entries,
                          std::uint64_t archive_version) {
  // The records come from our own checked listing, not from LibTorch's zip reader, whose
  // constructor throws on damaged archives and then leaks (the fuzzer found four ways).
  auto storages = std::make_shared<torch::jit::DeserializationStorageContext>();
  for (const auto& [entry_name, entry] : entries) {
    if (entry_name.rfind("data/", 0) != 0) continue;
    // check_entries refused compressed entries: the record is its bytes in the archive.
    at::DataPtr data = c10::GetCPUAllocator()->allocate(entry.size);
    if (entry.size > 0) std::memcpy(data.get(), bytes.data() + entry.data_offset, entry.size);
    storages->addStorage(entry_name.substr(5),
                         c10::Storage(c10::Storage::use_byte_size_t(), entry.size, std::move(data),
                                      /*allocator=*/nullptr,
                                      /*resizable=*/false));
  }
  std::optional<std::string> pickle = detail::read_entry(bytes, entries.at("data.pkl"));
  TORCH_CHECK(pickle, "unreadable data.pkl");
  std::size_t offset = 0;
  auto reader = [&](char* buffer, std::size_t length) -> std::size_t {
    length = std::min(length, pickle->size() - offset);
    std::memcpy(buffer, pickle->data() + offset, length);
    offset += length;
    return length;
  };
  // Every storage is in `storages`: a key without a record has nothing to read.
  auto no_record = [](const std::string& key) -> at::DataPtr {
    TORCH_CHECK(false, "no record for tensor data ", key);
  };
  torch::jit::Unpickler unpickler(reader, /*type_resolver=*/nullptr, /*obj_loader=*/nullptr,
                                  no_record, /*device=*/{}, /*use_storage_device=*/false,
                                  torch::jit::Unpickler::defaultTypeParser, storages);
  unpickler.set_version(archive_version);
  return unpickler.parse_ivalue();
}

// Typed access to the document and its metadata, naming the file and field when wrong.
class DocumentReader {
 public:
  explicit DocumentReader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void corrupt(const std::string& what) const {
    throw CheckpointError(name_ + ": corrupt checkpoint (" + what + ")");
  }
  const Json& field(const Json& object, const std::string& key, const std::string& path) const {
    if (!object.is_object() || !object.contains(key)) corrupt("no '" + path + "' field");
    return object.at(key);
  }
  std::string string(const Json& object, const std::string& key, const std::string& path) const {
    const Json& value = field(object, key, path);
    if (!value.is_string()) corrupt("'" + path + "' has the wrong type");
    return value.get<std::string>();
  }
  std::int64_t integer(const Json& object, const std::string& key, const std::string& path) const {
    const Json& value = field(object, key, path);
    if (!value.is_number_integer()) corrupt("'" + path + "' has the wrong type");
    return value.get<std::int64_t>();
  }
  double real(const Json& object, const std::string& key, const std::string& path) const {
    const Json& value = field(object, key, path);
    if (value.is_null()) return std::nan("");
    if (!value.is_number()) corrupt("'" + path + "' has the wrong type");
    return value.get<double>();
  }
  bool boolean(const Json& object, const std::string& key, const std::string& path) const {
    const Json& value = field(object, key, path);
    if (!value.is_boolean()) corrupt("'" + path + "' has the wrong type");
    return value.get<bool>();
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

TrainSettings read_settings(const DocumentReader& r, const Json& metadata) {
  const Json& s = r.field(metadata, "settings", "settings");
  auto path = [](const char* key) { return std::string("settings.") + key; };
  TrainSettings settings;
  settings.epochs = r.integer(s, "epochs", path("epochs"));
  settings.batch_size = r.integer(s, "batch_size", path("batch_size"));
  settings.learning_rate = r.real(s, "learning_rate", path("learning_rate"));
  settings.seed = r.integer(s, "seed", path("seed"));
  settings.data_dir = r.string(s, "data_dir", path("data_dir"));
  settings.validation = r.string(s, "validation", path("validation"));
  settings.val_split = r.real(s, "val_split", path("val_split"));
  settings.lr_schedule = r.string(s, "lr_schedule", path("lr_schedule"));
  settings.warmup_epochs = r.integer(s, "warmup_epochs", path("warmup_epochs"));
  settings.step_size = r.integer(s, "step_size", path("step_size"));
  settings.step_gamma = r.real(s, "step_gamma", path("step_gamma"));
  settings.weight_decay = r.real(s, "weight_decay", path("weight_decay"));
  settings.patience = r.integer(s, "patience", path("patience"));
  settings.augment = r.boolean(s, "augment", path("augment"));
  settings.device = r.string(s, "device", path("device"));
  if (s.contains("recipe")) {  // written since fmnist 0.3
    settings.recipe = r.string(s, "recipe", path("recipe"));
    settings.optimizer = r.string(s, "optimizer", path("optimizer"));
    settings.label_smoothing = r.real(s, "label_smoothing", path("label_smoothing"));
    settings.erasing = r.real(s, "erasing", path("erasing"));
  }
  if (s.contains("out")) {  // written since fmnist 0.4
    settings.out = r.string(s, "out", path("out"));
    settings.checkpoint_dir = r.string(s, "checkpoint_dir", path("checkpoint_dir"));
  }
  if (s.contains("clean_epochs")) {  // written since fmnist 0.5
    settings.clean_epochs = r.integer(s, "clean_epochs", path("clean_epochs"));
  }
  return settings;
}

Metrics read_metrics(const DocumentReader& r, const Json& metrics) {
  auto split = [&](const char* key) {
    const Json& m = r.field(metrics, key, std::string("metrics.") + key);
    return SplitMetrics{r.real(m, "loss", std::string("metrics.") + key + ".loss"),
                        r.real(m, "accuracy", std::string("metrics.") + key + ".accuracy")};
  };
  return {split("train"), split("val"), split("test")};
}

void read_metadata(const DocumentReader& r, const Json& metadata, Checkpoint& checkpoint) {
  checkpoint.arch = r.string(metadata, "arch", "arch");
  const auto& archs = supported_archs();
  if (std::find(archs.begin(), archs.end(), checkpoint.arch) == archs.end() ||
      r.integer(metadata, "image_size", "image_size") != kImageSize) {
    throw CheckpointError(r.name() + ": architecture '" + shown(checkpoint.arch) +
                          "' is not supported (this fmnist has " + quoted_list(archs) + ")");
  }
  const Json& names = r.field(metadata, "class_names", "class_names");
  if (!names.is_array() || static_cast<std::int64_t>(names.size()) != kNumClasses ||
      !std::all_of(names.begin(), names.end(), [](const Json& n) { return n.is_string(); })) {
    r.corrupt("'class_names' is not a list of " + std::to_string(kNumClasses) + " names");
  }
  checkpoint.class_names = names.get<std::vector<std::string>>();
  checkpoint.pixel_scale = r.real(metadata, "pixel_scale", "pixel_scale");
  checkpoint.epoch = r.integer(metadata, "epoch", "epoch");
  checkpoint.settings = read_settings(r, metadata);
  const Json& metrics = r.field(metadata, "metrics", "metrics");
  checkpoint.metrics = read_metrics(r, metrics);
  checkpoint.best_accuracy = r.real(metrics, "best_accuracy", "metrics.best_accuracy");
  checkpoint.best_epoch = r.integer(metrics, "best_epoch", "metrics.best_epoch");
  checkpoint.fmnist_version = r.string(metadata, "fmnist_version", "fmnist_version");
  checkpoint.torch_version = r.string(metadata, "torch_version", "torch_version");
}

// `value` as a dense tensor shaped and typed like `like` whose elements all lie inside its
// storage (LibTorch's unpickler takes sizes and strides from the file unchecked).
const torch::Tensor& check_tensor(const DocumentReader& r, const c10::IValue& value,
                                  const torch::Tensor& like, const std::string& key) {
  if (!value.isTensor()) r.corrupt("'" + key + "' is not a tensor");
  const torch::Tensor& t = value.toTensor();
  if (t.layout() != torch::kStrided || t.scalar_type() != like.scalar_type() ||
      t.sizes() != like.sizes() || !t.device().is_cpu()) {
    r.corrupt("'" + key + "' is not a " + std::string(c10::toString(like.scalar_type())) +
              " tensor of the architecture's shape");
  }
  std::int64_t last = t.storage_offset();
  for (std::int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) < 0) r.corrupt("'" + key + "' has negative strides");
    last += (t.size(d) - 1) * t.stride(d);
  }
  if (t.numel() > 0 &&
      (t.storage_offset() < 0 ||
       static_cast<std::uint64_t>(last + 1) * t.element_size() > t.storage().nbytes())) {
    r.corrupt("'" + key + "' reaches past its data");
  }
  return t;
}

c10::impl::GenericDict dict_field(const DocumentReader& r, const c10::impl::GenericDict& document,
                                  const std::string& key) {
  auto found = document.find(key);
  if (found == document.end()) r.corrupt("no '" + key + "' field");
  if (!found->value().isGenericDict()) r.corrupt("'" + key + "' has the wrong type");
  return found->value().toGenericDict();
}

const c10::IValue& entry(const DocumentReader& r, const c10::impl::GenericDict& dict,
                         const std::string& key, const std::string& path) {
  auto found = dict.find(key);
  if (found == dict.end()) r.corrupt("no '" + path + "' tensor");
  return found->value();
}

void read_weights(const DocumentReader& r, const c10::impl::GenericDict& weights, Net& model) {
  torch::NoGradGuard no_grad;
  std::size_t expected = 0;
  auto load = [&](const std::string& key, torch::Tensor& target) {
    target.copy_(check_tensor(r, entry(r, weights, key, "model." + key), target, "model." + key));
    ++expected;
  };
  for (auto& item : model->named_parameters()) load(item.key(), item.value());
  for (auto& item : model->named_buffers()) load(item.key(), item.value());
  if (weights.size() != expected) {
    r.corrupt("'model' holds " + std::to_string(weights.size()) + " tensors, the architecture " +
              std::to_string(expected));
  }
}

std::vector<OptimizerMoments> read_moments(const DocumentReader& r,
                                           const c10::impl::GenericDict& moments,
                                           const Json& metadata, Net& model) {
  const Json& optimizer = r.field(metadata, "optimizer", "optimizer");
  const Json& steps = r.field(optimizer, "steps", "optimizer.steps");
  const Json& name = r.field(optimizer, "name", "optimizer.name");
  if (!name.is_string() || (name != kAdamState && name != kSgdState)) {
    r.corrupt("'optimizer.name' is not " + std::string(kAdamState) + " or " + kSgdState);
  }
  const std::vector<StateTensor>& tensors = state_tensors(name.get<std::string>());
  std::vector<torch::Tensor> parameters = model->parameters();
  if (!steps.is_array() || steps.size() != parameters.size() ||
      moments.size() != tensors.size() * parameters.size()) {
    r.corrupt("the optimizer state does not fit the architecture's " +
              std::to_string(parameters.size()) + " parameters");
  }
  std::vector<OptimizerMoments> result(parameters.size());
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    if (!steps[i].is_number_integer() || steps[i].get<std::int64_t>() < 0) {
      r.corrupt("'optimizer.steps' holds something other than step counts");
    }
    result[i].step = steps[i].get<std::int64_t>();
    for (const StateTensor& tensor : tensors) {
      const std::string key = prefix + tensor.name;
      result[i].*tensor.member = check_tensor(r, entry(r, moments, key, "optimizer." + key),
                                              parameters[i], "optimizer." + key);
    }
  }
  return result;
}

Checkpoint read_current_format(const std::string& bytes,
                               const std::map<std::string, ArchiveEntry>& entries,
                               const std::string& name) {
  check_entries(entries, name);
  c10::IValue value;
  try {
    value = read_document(bytes, entries, *detail::archive_version(bytes, entries));
  } catch (const c10::Error& e) {
    spdlog::debug("{}: {}", name, describe(e));
    // What to_pytorch.py writes (torch.save of the metadata and an OrderedDict of weights)
    // is beyond LibTorch's unpickler; its keys still show in the pickle's bytes.
    std::optional<std::string> pickle = detail::read_entry(bytes, entries.at("data.pkl"));
    if (pickle && pickle->find("state_dict") != std::string::npos &&
        pickle->find("pixel_scale") != std::string::npos) {
      throw CheckpointError(name +
                            " is a PyTorch state dict written by to_pytorch.py; fmnist "
                            "reads the .pt checkpoints that 'fmnist train' writes");
    }
    throw CheckpointError(name + ": not an fmnist checkpoint (its data cannot be read as one)");
  }
  const std::string untagged =
      name + ": not an fmnist checkpoint (a PyTorch file without fmnist's format tag)";
  if (!value.isGenericDict()) throw CheckpointError(untagged);  // e.g. torch.save of a tensor
  DocumentReader r(name);
  const c10::impl::GenericDict document = value.toGenericDict();
  auto text = [&](const std::string& key) -> std::string {
    auto found = document.find(key);
    return found != document.end() && found->value().isString() ? found->value().toStringRef() : "";
  };
  if (text("format") != kCheckpointFormat) throw CheckpointError(untagged);
  auto version = document.find("version");
  if (version == document.end() || !version->value().isInt()) r.corrupt("no 'version' field");
  if (version->value().toInt() != kCheckpointVersion) {
    throw CheckpointError(name + ": checkpoint format version " +
                          std::to_string(version->value().toInt()) +
                          " is not supported (this fmnist reads versions " +
                          std::to_string(kTorchScriptCheckpointVersion) + " and " +
                          std::to_string(kCheckpointVersion) + ")");
  }
  Json metadata;
  try {
    metadata = Json::parse(text("metadata"));
  } catch (const Json::exception&) {
    r.corrupt("its metadata is not JSON");
  }
  Checkpoint checkpoint;
  read_metadata(r, metadata, checkpoint);
  checkpoint.model = Net(checkpoint.arch);
  read_weights(r, dict_field(r, document, "model"), checkpoint.model);
  if (document.contains("optimizer")) {
    checkpoint.optimizer_state =
        read_moments(r, dict_field(r, document, "optimizer"), metadata, checkpoint.model);
  }
  return checkpoint;
}

// Each tensor's storage, moved to `device`.
void move_to(Checkpoint& checkpoint, torch::Device device) {
  checkpoint.model->to(device);
  checkpoint.model->eval();
  for (OptimizerMoments& moments : checkpoint.optimizer_state) {
    for (torch::Tensor* tensor :
         {&moments.exp_avg, &moments.exp_avg_sq, &moments.momentum_buffer}) {
      if (tensor->defined()) *tensor = tensor->to(device);
    }
  }
}

// What the largest checkpoint of any architecture holds, measured once by building each.
struct CheckpointBounds {
  std::uint64_t tensor_bytes = 0;  // the largest weight, buffer or moment
  std::uint64_t file_bytes = 0;    // weights, buffers and two moments per parameter
  std::size_t tensors = 0;         // the same, counted
};

const CheckpointBounds& checkpoint_bounds() {
  static const CheckpointBounds kBounds = [] {
    CheckpointBounds most;
    for (const std::string& arch : supported_archs()) {
      Net model(arch);
      std::uint64_t file_bytes = 0;
      for (const auto& t : model->parameters()) {
        most.tensor_bytes = std::max<std::uint64_t>(most.tensor_bytes, t.nbytes());
        file_bytes += 3 * t.nbytes();
      }
      for (const auto& t : model->buffers()) {
        most.tensor_bytes = std::max<std::uint64_t>(most.tensor_bytes, t.nbytes());
        file_bytes += t.nbytes();
      }
      most.file_bytes = std::max(most.file_bytes, file_bytes);
      most.tensors =
          std::max(most.tensors, model->parameters().size() * 3 + model->buffers().size());
    }
    return most;
  }();
  return kBounds;
}

// Four times the largest checkpoint, plus room for the metadata: a larger file is refused
// before it is read.
std::uint64_t max_checkpoint_bytes() {
  return 4 * checkpoint_bounds().file_bytes + (std::uint64_t{1} << 20);
}

std::size_t max_entries() {
  // Format 1 adds a code file and its debug pickle per module.
  return 2 * checkpoint_bounds().tensors + 64;
}

}  // namespace

std::uint64_t detail::max_checkpoint_tensor_bytes() { return checkpoint_bounds().tensor_bytes; }

void save_checkpoint(const fs::path& path, const Checkpoint& checkpoint) {
  write_file_atomically(path, write_archive(document_of(checkpoint)));
}

Checkpoint parse_checkpoint(std::string bytes, const std::string& name, torch::Device device) {
  if (bytes.empty()) throw CheckpointError(name + ": file is empty");
  auto listing = detail::list_archive(bytes, max_entries());
  auto entries = listing ? detail::entries_by_name(*listing) : std::nullopt;
  if (!entries) {
    std::string kind = detail::describe_contents(bytes);
    if (kind.find("image") != std::string::npos) {
      throw CheckpointError(name + " is " + kind + ", not an fmnist checkpoint (to classify it: " +
                            "fmnist predict " + name + ")");
    }
    if (!kind.empty()) throw CheckpointError(name + " is " + kind + ", not an fmnist checkpoint");
    throw CheckpointError(name + ": not an fmnist checkpoint (" +
                          (bytes.rfind("PK", 0) == 0
                               ? "not a zip archive of the expected layout; truncated or damaged?"
                               : "not a zip archive") +
                          ")");
  }
  if (!detail::archive_version(bytes, *entries)) {
    throw CheckpointError(name + ": not an fmnist checkpoint (no archive version this LibTorch " +
                          TORCH_VERSION + " reads)");
  }
  Checkpoint checkpoint =
      detail::is_torchscript_archive(*entries)
          ? detail::read_torchscript_checkpoint(bytes, *entries, name, torch::kCPU)
          : read_current_format(bytes, *entries, name);
  move_to(checkpoint, device);
  return checkpoint;
}

std::string train_settings_json(const TrainSettings& settings) {
  return settings_of(settings).dump();
}

std::string tta_warning(const Checkpoint& checkpoint, const std::string& path) {
  if (checkpoint.settings.augment) return "";
  return "--tta: " + path +
         " was trained without --augment, so mirrored images are new to it; averaging with "
         "them may lower its accuracy";
}

void warn_if_tta_unsuited(const Checkpoint& checkpoint, const std::string& path, bool tta) {
  if (!tta) return;
  if (std::string warning = tta_warning(checkpoint, path); !warning.empty()) spdlog::warn(warning);
}

Checkpoint load_checkpoint(const fs::path& path, torch::Device device) {
  const std::string name = path.string();
  if (is_missing(path)) {
    throw CheckpointError(name +
                          ": no such file (train a model with 'fmnist train', or name another "
                          "checkpoint with --model PATH)");
  }
  Checkpoint checkpoint = parse_checkpoint(read_file(path, max_checkpoint_bytes()), name, device);
  if (checkpoint.format_version != kCheckpointVersion) {
    spdlog::warn(
        "{}: checked and read as an fmnist 0.1 checkpoint (TorchScript); convert it "
        "with 'fmnist checkpoint upgrade {} NEW.pt'",
        name, name);
  }
  return checkpoint;
}

std::int64_t upgrade_checkpoint(const fs::path& from, const fs::path& to) {
  Checkpoint checkpoint =
      parse_checkpoint(read_file(from, max_checkpoint_bytes()), from.string(), torch::kCPU);
  save_checkpoint(to, checkpoint);
  return checkpoint.format_version;
}

void run_checkpoint_upgrade(const CheckpointUpgradeOptions& options, std::ostream& out) {
  make_output_directory(fs::path(options.to).parent_path(), std::string(options.to));
  std::int64_t version = upgrade_checkpoint(options.from, options.to);
  out << options.from << " (format " << version << ") -> " << options.to << " (format "
      << kCheckpointVersion << ")"
      << (version == kCheckpointVersion ? ": it already was in the current format" : "") << "\n";
}

}  // namespace fmnist
