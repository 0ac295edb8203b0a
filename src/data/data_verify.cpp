#include "fmnist/data/data_verify.hpp"

#include <nettle/sha2.h>

#include <algorithm>
#include <array>
#include <iomanip>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/data/idx.hpp"

namespace fmnist {
namespace {

constexpr std::size_t kShortHash = 16;  // hex digits shown of a sum that differs

// SHA-256 over pieces fed one after another.
class Sha256 {
 public:
  Sha256() { sha256_init(&context_); }
  Sha256& update(const void* bytes, std::size_t size) {
    sha256_update(&context_, size, static_cast<const std::uint8_t*>(bytes));
    return *this;
  }
  std::string hex_digest() {
    std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
    sha256_digest(&context_, digest.size(), digest.data());
    std::ostringstream out;
    for (std::uint8_t byte : digest) {
      out << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(byte);
    }
    return out.str();
  }

 private:
  sha256_ctx context_;
};

// SHA-256 of the IDX file `data` was parsed from: header (magic for unsigned bytes, the
// dimensions big-endian) and payload. The parser accepts only exactly such files.
std::string idx_sha256(const torch::Tensor& data) {
  std::string header = {0, 0, 0x08, static_cast<char>(data.dim())};
  for (std::int64_t size : data.sizes()) {
    for (int shift = 24; shift >= 0; shift -= 8)
      header += static_cast<char>((size >> shift) & 0xff);
  }
  torch::Tensor payload = data.contiguous();
  return Sha256()
      .update(header.data(), header.size())
      .update(payload.data_ptr(), static_cast<std::size_t>(payload.numel()))
      .hex_digest();
}

std::uint64_t idx_size(const torch::Tensor& data) {
  return 4 + 4 * static_cast<std::uint64_t>(data.dim()) + static_cast<std::uint64_t>(data.numel());
}

const char* status_word(FileStatus status) {
  switch (status) {
    case FileStatus::kOk:
      return "OK";
    case FileStatus::kMismatch:
      return "MISMATCH";
    case FileStatus::kMissing:
      return "MISSING";
    case FileStatus::kUnreadable:
      return "UNREADABLE";
  }
  return "?";
}

FileCheck check_parsed(const std::string& file, const torch::Tensor& data, const KnownFile& known) {
  std::string sha256 = idx_sha256(data);
  bool count_matches = data.size(0) == known.examples;
  bool size_matches = idx_size(data) == known.bytes;
  FileCheck check{file, FileStatus::kOk, sha256 == known.sha256, ""};
  if (!count_matches || !size_matches || !check.sha256_matches)
    check.status = FileStatus::kMismatch;
  std::ostringstream detail;
  detail << data.size(0) << " examples";
  if (!count_matches) detail << " (expected " << known.examples << ")";
  detail << ", " << idx_size(data) << " bytes";
  if (!size_matches) detail << " (expected " << known.bytes << ")";
  detail << ", sha256 " << sha256.substr(0, kShortHash) << "...";
  if (!check.sha256_matches)
    detail << " (expected " << known.sha256.substr(0, kShortHash) << "...)";
  check.detail = detail.str();
  return check;
}

FileCheck verify_file(const std::filesystem::path& dir, const KnownFile& known) {
  std::filesystem::path file;
  try {
    file = find_split_file(dir, known.split, known.labels);
  } catch (const DataError&) {
    std::string name = (known.split == Split::kTrain ? "train" : "t10k") +
                       std::string(known.labels ? "-labels-idx1-ubyte" : "-images-idx3-ubyte");
    return {(dir / name).string(), FileStatus::kMissing, false, "not found (raw or .gz)"};
  }
  try {
    torch::Tensor data = known.labels ? read_idx_labels(file) : read_idx_images(file);
    return check_parsed(file.string(), data, known);
  } catch (const Error& e) {
    return {file.string(), FileStatus::kUnreadable, false, first_line(e.what())};
  }
}

}  // namespace

const std::vector<KnownFile>& fashion_mnist_files() {
  // From /work/shared/data-facts.md: the SHA-256 of the decompressed files of Debian's
  // dataset-fashion-mnist, which equal upstream's (zalandoresearch/fashion-mnist) once unzipped.
  static const std::vector<KnownFile> kFiles = {
      {Split::kTrain, false, 60000, 47040016,
       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
      {Split::kTrain, true, 60000, 60008,
       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
      {Split::kTest, false, 10000, 7840016,
       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
      {Split::kTest, true, 10000, 10008,
       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
  };
  return kFiles;
}

std::string sha256_hex(std::string_view bytes) {
  return Sha256().update(bytes.data(), bytes.size()).hex_digest();
}

std::vector<FileCheck> verify_data(const std::filesystem::path& dir,
                                   const std::vector<KnownFile>& expected) {
  std::vector<FileCheck> checks;
  for (const KnownFile& known : expected) checks.push_back(verify_file(dir, known));
  return checks;
}

std::string format_file_checks(const std::vector<FileCheck>& checks) {
  std::size_t width = 0;
  for (const FileCheck& c : checks) width = std::max(width, c.file.size());
  std::ostringstream out;
  for (const FileCheck& c : checks) {
    out << std::left << std::setw(static_cast<int>(width) + 2) << c.file << std::setw(12)
        << status_word(c.status) << c.detail << "\n";
  }
  return out.str();
}

void run_data_verify(const DataVerifyOptions& options, std::ostream& out) {
  std::filesystem::path dir = resolve_data_dir(options.data_dir);
  std::vector<FileCheck> checks = verify_data(dir, fashion_mnist_files());
  out << format_file_checks(checks) << std::flush;
  auto count = [&](auto predicate) {
    return std::count_if(checks.begin(), checks.end(), predicate);
  };
  auto bad = count([](const FileCheck& c) { return c.status != FileStatus::kOk; });
  if (bad == 0) return;
  auto hashed = count([](const FileCheck& c) {
    return c.status != FileStatus::kMissing && c.status != FileStatus::kUnreadable;
  });
  auto matching = count([](const FileCheck& c) { return c.sha256_matches; });
  if (matching == 0 && hashed > 0) {
    throw Error(dir.string() +
                ": not Fashion-MNIST: none of its files has a Fashion-MNIST "
                "SHA-256 sum (another data set, e.g. MNIST? train and eval still accept it)");
  }
  throw Error(dir.string() + ": " + std::to_string(bad) + " of " + std::to_string(checks.size()) +
              " files are missing or differ from Fashion-MNIST's published sums and sizes");
}

}  // namespace fmnist
