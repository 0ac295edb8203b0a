#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fmnist/model/checkpoint.hpp"

// Skips a test whose prerequisite this machine lacks, except under CI=true, where it fails: CI
// installs every prerequisite (scripts/install-deps.sh), so a skip there would hide a broken
// guarantee.
#define FMNIST_SKIP_OUTSIDE_CI(reason)                                   \
  do {                                                                   \
    if (::fmnist::testing::in_ci()) FAIL() << "CI=true, and " << reason; \
    GTEST_SKIP() << reason;                                              \
  } while (0)

namespace fmnist::testing {

// Whether the environment says this is a CI run (CI=true, as .ci/run and most CI services set).
bool in_ci();

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
std::string gzip(const std::string& bytes);

// A TCP port of the loopback interface that was free a moment ago.
int free_port();

// IDX bytes: header for `dims` (each a big-endian uint32) followed by `payload`.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::string& payload,
                      unsigned char type = 0x08);

// PNG bytes of uint8 [H, W, C] pixels (C = 1..4), through stb_image_write.
std::string png_bytes(const torch::Tensor& hwc);
std::string jpeg_bytes(const torch::Tensor& hwc);
// `jpeg` with an APP1 EXIF segment after its SOI marker whose IFD 0 holds only an Orientation
// tag, in big-endian ("MM") or little-endian ("II") TIFF byte order.
std::string with_exif_orientation(const std::string& jpeg, int orientation, bool big_endian = true);
// The pixels of PNG bytes as uint8 [H, W, 3]; fails the test if they do not decode.
torch::Tensor decode_png_rgb(const std::string& png);
// How many pixels of uint8 [H, W, 3] `rgb` are within `tolerance` of (r, g, b) in every channel.
std::int64_t count_pixels(const torch::Tensor& rgb, int r, int g, int b, int tolerance = 0);
// A hand-built PNG of any bit depth and colour type; `rows` are the raw scanlines without
// filter bytes, `palette` the PLTE content for colour type 3.
std::string raw_png_bytes(int width, int height, int bit_depth, int color_type,
                          const std::string& rows, const std::string& palette = "");

// Saves a freshly initialised model (seeded) as a checkpoint at `path`.
void save_fresh_checkpoint(const std::filesystem::path& path, std::uint64_t seed);

// Exit status (128 + signal number if killed), stdout and stderr of the fmnist binary run with
// `args` (shell words) in `dir`, with FMNIST_DATA unset and `environment` (NAME=value words)
// added.
struct CommandResult {
  int status = -1;
  std::string out, err;
};
CommandResult run_fmnist(const std::string& args, const std::filesystem::path& dir,
                         const std::string& environment = "");

// Saves `checkpoint`, then rewrites the file with `edit` applied to its top-level dictionary
// and its metadata: checkpoints fmnist must refuse.
using CheckpointEdit =
    std::function<void(c10::impl::GenericDict& document, nlohmann::ordered_json& metadata)>;
void save_checkpoint_with(const std::filesystem::path& path, const Checkpoint& checkpoint,
                          const CheckpointEdit& edit);

// A learnable synthetic split: class c is a bright bar of a class-specific shape on black.
struct SyntheticSplit {
  torch::Tensor images;  // uint8 [N, 28, 28]
  torch::Tensor labels;  // uint8 [N]
};
SyntheticSplit make_split(std::int64_t count, std::uint64_t seed);

// Writes train and t10k IDX files (gzip or raw) of synthetic splits into `dir`.
void write_dataset(const std::filesystem::path& dir, std::int64_t train_count,
                   std::int64_t test_count, bool gzipped = true);
void write_split(const std::filesystem::path& dir, const std::string& prefix,
                 const SyntheticSplit& split, bool gzipped);

}  // namespace fmnist::testing
