#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace fmnist {

// Larger IDX payloads are refused before anything is allocated.
inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 31;

// Reads an unsigned-byte IDX file, raw or gzip (told apart by the gzip magic, not the name).
// Images come back as uint8 [N, rows, cols], labels as uint8 [N]. Every problem is a DataError
// whose message starts with the file's name.
torch::Tensor read_idx_images(const std::filesystem::path& path);
torch::Tensor read_idx_labels(const std::filesystem::path& path);

// The same on bytes already in memory; `name` only labels the error messages.
torch::Tensor parse_idx(std::string_view file_bytes, std::int64_t expected_dims,
                        const std::string& name);

}  // namespace fmnist
