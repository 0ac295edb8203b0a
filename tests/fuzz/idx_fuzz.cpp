// libFuzzer target for fmnist::parse_idx (raw and gzip IDX). Run through scripts/fuzz.sh.
//
// The input is a whole IDX file, so the corpus holds real files. Each input is parsed as every
// rank parse_idx accepts (1 = labels, 3 = images, and 2): all but the matching one stop at the
// magic number, so this costs little. A DataError (any fmnist::Error) is the expected answer to
// a bad file; any other exception escapes and aborts, as do sanitizer reports, and a result that
// breaks the contract (shape, dtype, for raw input the exact bytes) traps.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "fmnist/base/error.hpp"
#include "fmnist/data/idx.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "idx_fuzz: contract broken: %s\n", what);
  std::abort();
}

std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

void check(const torch::Tensor& data, const std::uint8_t* bytes, std::size_t size,
           std::int64_t rank) {
  if (data.dim() != rank) fail("rank");
  if (data.scalar_type() != torch::kUInt8 || !data.is_contiguous()) fail("dtype/layout");
  if (data.numel() <= 0) fail("empty tensor");
  bool gzip = size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  if (gzip) return;
  // Raw: header, then exactly the payload.
  std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  if (size != header + static_cast<std::size_t>(data.numel())) fail("raw size");
  for (std::int64_t d = 0; d < rank; ++d) {
    if (data.size(d) != big_endian_u32(bytes + 4 + 4 * d)) fail("raw shape");
  }
  if (std::memcmp(data.data_ptr(), bytes + header, data.numel()) != 0) fail("raw payload");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);  // one core per fuzzer; no thread pool to start per input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view file(reinterpret_cast<const char*>(bytes), size);
  for (std::int64_t rank : {1, 3, 2}) {
    try {
      check(fmnist::parse_idx(file, rank, "fuzz.idx"), bytes, size, rank);
    } catch (const fmnist::Error&) {
    }
  }
  return 0;
}
