#pragma once

// The zip container of checkpoint files, inspected before LibTorch reads any of it (private to
// model/): the checkpoint reader checks the names, counts and sizes of the entries first, so a
// crafted file is refused before it can make LibTorch allocate, compile or run anything.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fmnist::detail {

struct ArchiveEntry {
  std::string name;               // as stored, e.g. "archive/data/0"
  std::uint64_t size;             // bytes, uncompressed
  std::uint64_t data_offset;      // where its (maybe compressed) bytes start in the archive
  std::uint64_t compressed_size;  // how many bytes they take there
  bool deflated;                  // compressed (TorchScript's code files), else stored
  std::uint32_t crc32;            // of the uncompressed bytes
};

// The entries of a zip archive, from its central directory alone (nothing is decompressed).
// nullopt unless `bytes` is a single-disk zip archive of at most `max_entries` entries, each
// stored or deflated and lying inside the archive, starting with a local header, and each stored
// entry's bytes matching its CRC-32: the zips LibTorch writes. (LibTorch's own reader throws
// from its constructor on a damaged archive and then leaks its zip state: the checks here and
// archive_version() keep such files from reaching it.)
std::optional<std::vector<ArchiveEntry>> list_archive(std::string_view bytes,
                                                      std::size_t max_entries);

// The entry's bytes (inflated if deflated); nullopt if they do not inflate to exactly its size
// and CRC-32.
std::optional<std::string> read_entry(std::string_view bytes, const ArchiveEntry& entry);

// The entries by their name below the archive's one top folder ("archive/data.pkl" ->
// "data.pkl"), as LibTorch reads them; nullopt unless all share one top folder, once each.
std::optional<std::map<std::string, ArchiveEntry>> entries_by_name(
    const std::vector<ArchiveEntry>& entries);

// The archive's format version (its "version" or ".data/version" entry) if LibTorch reads it;
// nullopt when missing, not a number, or outside the versions LibTorch supports.
std::optional<std::uint64_t> archive_version(std::string_view bytes,
                                             const std::map<std::string, ArchiveEntry>& entries);

// What a file that is not a checkpoint looks like, from its first bytes, for messages:
// "a PNG image", "a gzip file", ...; "" when nothing is recognised.
std::string describe_contents(std::string_view bytes);

}  // namespace fmnist::detail
