#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "fmnist/data/dataset.hpp"

namespace fmnist {

// What one data file must be: its examples, and the size and SHA-256 of its IDX bytes once
// decompressed (Debian's .gz files differ from upstream's only in their gzip headers).
struct KnownFile {
  Split split;
  bool labels;
  std::int64_t examples;
  std::uint64_t bytes;
  std::string sha256;
};

// The four files of Fashion-MNIST as published.
const std::vector<KnownFile>& fashion_mnist_files();

enum class FileStatus { kOk, kMismatch, kMissing, kUnreadable };

struct FileCheck {
  std::string file;  // the path checked, or the expected name when missing
  FileStatus status = FileStatus::kMissing;
  bool sha256_matches = false;
  std::string detail;  // what was found, or what is wrong
};

// Lowercase hex SHA-256 (through nettle).
std::string sha256_hex(std::string_view bytes);

// Checks each of `expected` in `dir`, raw or gzip.
std::vector<FileCheck> verify_data(const std::filesystem::path& dir,
                                   const std::vector<KnownFile>& expected);

// One line per file, "<file>  OK|MISMATCH|MISSING|UNREADABLE  <detail>".
std::string format_file_checks(const std::vector<FileCheck>& checks);

struct DataVerifyOptions {
  std::optional<std::string> data_dir;
};

// `fmnist data verify`: the per-file lines to `out`; Error (exit 1) unless every file matches,
// saying so plainly when none does (another data set, e.g. MNIST).
void run_data_verify(const DataVerifyOptions& options, std::ostream& out);

}  // namespace fmnist
