#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace fmnist {

// The whole file, or an Error naming it: missing, a directory, unreadable, or over max_bytes.
std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// Writes through a temporary file in the same directory, fsync and rename, so `path` is
// either its old self or the complete new content, whatever happens to the process.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// A UsageError, "<flag>: directory D does not exist or is not writable", unless `directory`
// ("" meaning the current one) is a directory this process may create files in. Commands call
// it before their work, so a bad output place is reported before minutes of it.
void check_writable_directory(std::filesystem::path directory, const std::string& flag);

}  // namespace fmnist
