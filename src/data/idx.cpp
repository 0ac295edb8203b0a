#include "fmnist/data/idx.hpp"

#include <zlib.h>

#include <array>
#include <climits>
#include <fstream>
#include <memory>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"

namespace fmnist {
namespace {

constexpr unsigned char kIdxUnsignedByte = 0x08;
constexpr std::int64_t kMaxIdxDims = 3;
// Deflate cannot expand data by more than this factor (zlib's technical details), so a gzip
// file's size bounds its content before we inflate it.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
static_assert(kMaxIdxBytes < UINT_MAX, "zlib counts bytes in uInt");

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Hands out the IDX bytes of a raw or gzip file, in order, into caller-owned buffers.
class IdxSource {
 public:
  IdxSource(std::string_view file, const std::string& name) : file_(file), name_(name) {
    if (!is_gzip(file_)) return;
    stream_ = std::make_unique<z_stream>();
    *stream_ = {};
    stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(file_.data()));
    stream_->avail_in = static_cast<uInt>(file_.size());
    if (inflateInit2(stream_.get(), 16 + MAX_WBITS) != Z_OK) {
      stream_.reset();
      throw DataError(name_ + ": cannot start gzip decompression");
    }
  }
  IdxSource(const IdxSource&) = delete;
  IdxSource& operator=(const IdxSource&) = delete;
  ~IdxSource() {
    if (stream_) inflateEnd(stream_.get());
  }

  // The most bytes the file can yield, known before any allocation.
  std::uint64_t max_remaining() const {
    return stream_ ? kMaxDeflateRatio * file_.size() : file_.size() - offset_;
  }

  // Why max_remaining() bytes are all there can be, for the error message.
  std::string capacity() const {
    return stream_
               ? "a gzip file of " + std::to_string(file_.size()) + " bytes cannot hold that many"
               : "the file holds only " + std::to_string(max_remaining());
  }

  void read_exact(void* destination, std::uint64_t count, const char* what) {
    std::uint64_t got = stream_ ? inflate_into(destination, count) : copy_into(destination, count);
    if (got < count) {
      throw DataError(name_ + ": truncated: " + what + " needs " + std::to_string(count) +
                      " bytes, the file holds only " + std::to_string(got));
    }
  }

  void expect_end() {
    if (stream_) {
      char extra = 0;
      if (inflate_into(&extra, 1) != 0 || !stream_ended_) {
        throw DataError(name_ + ": holds more data than its header declares");
      }
      if (stream_->avail_in != 0) {
        throw DataError(name_ + ": " + std::to_string(stream_->avail_in) +
                        " unexpected bytes after the gzip data");
      }
    } else if (offset_ != file_.size()) {
      throw DataError(name_ + ": " + std::to_string(file_.size() - offset_) +
                      " bytes more than its header declares");
    }
  }

 private:
  std::uint64_t copy_into(void* destination, std::uint64_t count) {
    std::uint64_t n = std::min<std::uint64_t>(count, file_.size() - offset_);
    std::memcpy(destination, file_.data() + offset_, n);
    offset_ += n;
    return n;
  }

  std::uint64_t inflate_into(void* destination, std::uint64_t count) {
    stream_->next_out = static_cast<Bytef*>(destination);
    stream_->avail_out = static_cast<uInt>(count);
    while (stream_->avail_out > 0 && !stream_ended_) {
      int status = inflate(stream_.get(), Z_NO_FLUSH);
      if (status == Z_STREAM_END) {
        stream_ended_ = true;
      } else if (status == Z_BUF_ERROR || (status == Z_OK && stream_->avail_in == 0)) {
        throw DataError(name_ + ": gzip data is truncated");
      } else if (status != Z_OK) {
        std::string reason = stream_->msg ? stream_->msg : "error " + std::to_string(status);
        throw DataError(name_ + ": corrupt gzip data (" + reason + ")");
      }
    }
    return count - stream_->avail_out;
  }

  std::string_view file_;
  const std::string& name_;
  std::uint64_t offset_ = 0;
  std::unique_ptr<z_stream> stream_;
  bool stream_ended_ = false;
};

std::uint32_t big_endian_u32(const unsigned char* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

std::string hex_byte(unsigned value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[(value >> 4) & 0xf] + kDigits[value & 0xf];
}

void check_magic(const std::array<unsigned char, 4>& magic, std::int64_t expected_dims,
                 const std::string& name) {
  if (magic[0] != 0 || magic[1] != 0) {
    throw DataError(name + ": not an IDX file (bad magic number)");
  }
  if (magic[2] != kIdxUnsignedByte) {
    throw DataError(name + ": IDX data type " + hex_byte(magic[2]) +
                    " is not supported, only unsigned bytes (0x08)");
  }
  if (magic[3] != expected_dims) {
    const char* kind = expected_dims == 3 ? "an images file" : "a labels file";
    throw DataError(name + ": has " + std::to_string(magic[3]) + " dimensions, but " + kind +
                    " has " + std::to_string(expected_dims));
  }
}

}  // namespace

torch::Tensor parse_idx(std::string_view file_bytes, std::int64_t expected_dims,
                        const std::string& name) {
  TORCH_CHECK(expected_dims >= 1 && expected_dims <= kMaxIdxDims, "bad IDX rank");
  if (file_bytes.empty()) throw DataError(name + ": file is empty");
  IdxSource source(file_bytes, name);

  std::array<unsigned char, 4> magic{};
  source.read_exact(magic.data(), magic.size(), "the IDX magic number");
  check_magic(magic, expected_dims, name);

  std::array<unsigned char, 4 * kMaxIdxDims> raw_dims{};
  source.read_exact(raw_dims.data(), 4 * expected_dims, "the IDX header");
  std::vector<std::int64_t> shape;
  std::uint64_t payload = 1;
  for (std::int64_t d = 0; d < expected_dims; ++d) {
    std::uint32_t size = big_endian_u32(&raw_dims[4 * d]);
    if (size == 0) throw DataError(name + ": dimension " + std::to_string(d) + " is zero");
    payload *= size;  // at most three 32-bit factors after the limit check below: no overflow
    if (payload > kMaxIdxBytes) {
      throw DataError(name + ": header declares more than " + std::to_string(kMaxIdxBytes) +
                      " bytes of data; refusing it");
    }
    shape.push_back(size);
  }
  if (payload > source.max_remaining()) {
    throw DataError(name + ": truncated: header declares " + std::to_string(payload) +
                    " bytes of data, " + source.capacity());
  }
  torch::Tensor data = torch::empty(shape, torch::kUInt8);
  source.read_exact(data.data_ptr(), payload, "the data the header declares");
  source.expect_end();
  return data;
}

namespace {
torch::Tensor read_idx(const std::filesystem::path& path, std::int64_t expected_dims) {
  // A raw IDX file is at most its payload plus a 16-byte header.
  std::string bytes = read_file(path, kMaxIdxBytes + 16);
  return parse_idx(bytes, expected_dims, path.string());
}
}  // namespace

torch::Tensor read_idx_images(const std::filesystem::path& path) {
  return read_idx(path, /*expected_dims=*/3);
}

torch::Tensor read_idx_labels(const std::filesystem::path& path) {
  return read_idx(path, /*expected_dims=*/1);
}

}  // namespace fmnist
