#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace fmnist {

// Whether `path` does not exist. False where that cannot be told (a folder on the way that may
// not be searched), so that reading it then says why.
bool is_missing(const std::filesystem::path& path);

// The whole file, or an Error naming it: missing, a directory, unreadable, or over max_bytes.
std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// Writes through a temporary file in the same directory, fsync and rename, so `path` is
// either its old self or the complete new content, whatever happens to the process.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// Makes `directory` ("" meaning the current one) and its missing parents, as `mkdir -p`, so that
// every output flag of every command follows one rule; a UsageError naming the flag when it
// cannot be made or is not writable. Commands call it before their work, so a bad output place
// is reported before minutes of it.
void make_output_directory(std::filesystem::path directory, const std::string& flag);

// A UsageError when the output file `out` given with `flag` names a directory, suggesting a
// file of `example_name` in it ("--out runs: is a directory; give a file name, e.g. --out
// runs/model.pt"). A folder on the way that may not be searched passes: make_output_directory
// then says why.
void check_not_a_directory(const std::filesystem::path& out, const std::string& flag,
                           const std::string& example_name);

}  // namespace fmnist
