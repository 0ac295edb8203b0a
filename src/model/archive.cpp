#include "archive.hpp"

#include <caffe2/serialize/versions.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace fmnist::detail {
namespace {

// Zip records (PKWARE APPNOTE 4.3): signatures and fixed sizes.
constexpr std::uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr std::uint32_t kCentralDirectoryHeader = 0x02014b50;
constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kZip64EndLocator = 0x07064b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kEndRecordSize = 22;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kMaxCommentSize = 0xffff;
constexpr std::uint16_t kStored = 0;
constexpr std::uint16_t kDeflated = 8;
// General-purpose flags miniz cannot extract: encrypted, patch data, strong encryption, masked
// local headers.
constexpr std::uint32_t kUnsupportedFlags = 0x0001 | 0x0020 | 0x0040 | 0x2000;
constexpr std::uint32_t kZip64Marker = 0xffffffff;  // the real value is in a zip64 record

std::uint64_t read_le64(std::string_view bytes, std::size_t at) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

std::uint32_t read_le(std::string_view bytes, std::size_t at, int width) {
  std::uint32_t value = 0;
  for (int i = width - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return value;
}

std::optional<std::size_t> find_end_record(std::string_view bytes) {
  if (bytes.size() < kEndRecordSize) return std::nullopt;
  std::size_t last = bytes.size() - kEndRecordSize;
  std::size_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  for (std::size_t at = last + 1; at-- > first;) {
    if (read_le(bytes, at, 4) == kEndOfCentralDirectory &&
        at + kEndRecordSize + read_le(bytes, at + 20, 2) == bytes.size()) {
      return at;
    }
  }
  return std::nullopt;
}

std::uint32_t checksum(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!data.empty()) {  // crc32 takes at most UINT_MAX bytes a call
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(data.size(), UINT_MAX));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), chunk);
    data.remove_prefix(chunk);
  }
  return static_cast<std::uint32_t>(crc);
}

bool printable_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e || c == '\\') return false;
  }
  return true;
}

// LibTorch writes a zip64 end record too, and its zip reader (miniz) then takes the entry count
// and central directory from that record alone: it must say what the plain end record says,
// or the two readers would see different archives.
bool zip64_record_agrees(std::string_view bytes, std::size_t end, std::uint64_t count,
                         std::uint64_t cd_size, std::uint64_t cd_offset) {
  if (end < kZip64LocatorSize || read_le(bytes, end - kZip64LocatorSize, 4) != kZip64EndLocator) {
    return true;  // no zip64 record
  }
  const std::uint64_t at = read_le64(bytes, end - kZip64LocatorSize + 8);
  if (at > end - kZip64LocatorSize || end - kZip64LocatorSize - at < kZip64EndSize ||
      read_le(bytes, at, 4) != kZip64End) {
    return false;
  }
  return read_le(bytes, at + 16, 4) == 0 && read_le(bytes, at + 20, 4) == 0 &&
         read_le64(bytes, at + 24) == count && read_le64(bytes, at + 32) == count &&
         read_le64(bytes, at + 40) == cd_size && read_le64(bytes, at + 48) == cd_offset;
}

}  // namespace

std::optional<std::vector<ArchiveEntry>> list_archive(std::string_view bytes,
                                                      std::size_t max_entries) {
  std::optional<std::size_t> end = find_end_record(bytes);
  if (!end || read_le(bytes, 0, 4) != kLocalHeader) return std::nullopt;
  const std::size_t e = *end;
  const std::uint32_t disk = read_le(bytes, e + 4, 2), cd_disk = read_le(bytes, e + 6, 2);
  const std::uint32_t on_disk = read_le(bytes, e + 8, 2), count = read_le(bytes, e + 10, 2);
  const std::uint64_t cd_size = read_le(bytes, e + 12, 4), cd_offset = read_le(bytes, e + 16, 4);
  if (disk != 0 || cd_disk != 0 || on_disk != count || count == 0 || count > max_entries ||
      cd_offset + cd_size > e || !zip64_record_agrees(bytes, e, count, cd_size, cd_offset)) {
    return std::nullopt;
  }
  std::vector<ArchiveEntry> entries;
  std::size_t at = cd_offset;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (at + kCentralHeaderSize > cd_offset + cd_size ||
        read_le(bytes, at, 4) != kCentralDirectoryHeader) {
      return std::nullopt;
    }
    const std::uint32_t flags = read_le(bytes, at + 8, 2);
    const std::uint32_t method = read_le(bytes, at + 10, 2);
    const std::uint32_t crc = read_le(bytes, at + 16, 4);
    const std::uint32_t compressed = read_le(bytes, at + 20, 4);
    const std::uint32_t size = read_le(bytes, at + 24, 4);
    const std::size_t name_length = read_le(bytes, at + 28, 2);
    const std::size_t extra_length = read_le(bytes, at + 30, 2);
    const std::size_t comment_length = read_le(bytes, at + 32, 2);
    const std::uint64_t local_offset = read_le(bytes, at + 42, 4);
    const std::size_t next = at + kCentralHeaderSize + name_length + extra_length + comment_length;
    const bool known_method = (method == kStored && compressed == size) || method == kDeflated;
    if (next > cd_offset + cd_size || !known_method || (flags & kUnsupportedFlags) != 0 ||
        size == kZip64Marker || compressed == kZip64Marker ||
        local_offset + kLocalHeaderSize > cd_offset ||
        read_le(bytes, local_offset, 4) != kLocalHeader) {
      return std::nullopt;
    }
    const std::uint64_t data_offset = local_offset + kLocalHeaderSize +
                                      read_le(bytes, local_offset + 26, 2) +
                                      read_le(bytes, local_offset + 28, 2);
    std::string name(bytes.substr(at + kCentralHeaderSize, name_length));
    if (data_offset + compressed > cd_offset || !printable_name(name)) return std::nullopt;
    if (method == kStored && checksum(bytes.substr(data_offset, size)) != crc) return std::nullopt;
    entries.push_back({std::move(name), size, data_offset, compressed, method == kDeflated, crc});
    at = next;
  }
  return entries;
}

std::optional<std::string> read_entry(std::string_view bytes, const ArchiveEntry& entry) {
  std::string_view data = bytes.substr(entry.data_offset, entry.compressed_size);
  if (!entry.deflated) return std::string(data);
  if (entry.size > UINT_MAX || data.size() > UINT_MAX) return std::nullopt;
  std::string out(entry.size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) return std::nullopt;  // raw deflate
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  const bool whole = status == Z_STREAM_END && stream.total_out == entry.size;
  inflateEnd(&stream);
  if (!whole || checksum(out) != entry.crc32) return std::nullopt;
  return out;
}

std::optional<std::uint64_t> archive_version(std::string_view bytes,
                                             const std::map<std::string, ArchiveEntry>& entries) {
  auto found = entries.find(".data/version");
  if (found == entries.end()) found = entries.find("version");
  if (found == entries.end() || found->second.size > 16) return std::nullopt;
  std::optional<std::string> text = read_entry(bytes, found->second);
  if (!text) return std::nullopt;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  if (text->empty() || text->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const std::uint64_t version = std::stoull(*text);
  if (version < caffe2::serialize::kMinSupportedFileFormatVersion ||
      version > caffe2::serialize::kMaxSupportedFileFormatVersion) {
    return std::nullopt;
  }
  return version;
}

std::optional<std::map<std::string, ArchiveEntry>> entries_by_name(
    const std::vector<ArchiveEntry>& entries) {
  if (entries.empty()) return std::nullopt;
  const std::string root = entries.front().name.substr(0, entries.front().name.find('/') + 1);
  if (root.size() < 2) return std::nullopt;
  std::map<std::string, ArchiveEntry> by_name;
  for (const ArchiveEntry& entry : entries) {
    if (entry.name.compare(0, root.size(), root) != 0) return std::nullopt;
    if (!by_name.emplace(entry.name.substr(root.size()), entry).second) return std::nullopt;
  }
  return by_name;
}

std::string describe_contents(std::string_view bytes) {
  auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  if (starts("\x89PNG\r\n\x1a\n")) return "a PNG image";
  if (starts("\xff\xd8\xff")) return "a JPEG image";
  if (starts("GIF8")) return "a GIF image";
  if (starts("BM")) return "a BMP image";
  if (starts("\x1f\x8b")) return "a gzip file";
  if (starts(std::string_view("\0\0\x08\x03", 4)) || starts(std::string_view("\0\0\x08\x01", 4))) {
    return "an IDX data file";
  }
  if (starts("\x80\x02") || starts("\x80\x03") || starts("\x80\x04")) return "a Python pickle";
  return "";
}

}  // namespace fmnist::detail
