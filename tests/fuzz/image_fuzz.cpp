// libFuzzer target for fmnist::decode_image and fmnist::preprocess_image. Run through
// scripts/fuzz.sh.
//
// The input is a whole image file (PNG, JPEG, GIF, BMP, PNM: the decoders compiled into
// stb_image). An ImageError (any fmnist::Error) is the expected answer to a bad file; any
// other exception escapes and aborts, as do sanitizer reports, and a result that breaks the
// documented contract (decode: float [H, W] in [0, 1]; preprocess: float [1, 28, 28] in
// [0, 1]) traps.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fmnist/base/error.hpp"
#include "fmnist/image/image.hpp"

namespace {

[[noreturn]] void fail(const char* what, const torch::Tensor& t) {
  std::fprintf(stderr, "image_fuzz: contract broken: %s (sizes %s, dtype %s)\n", what,
               c10::str(t.sizes()).c_str(), std::string(c10::toString(t.scalar_type())).c_str());
  std::abort();
}

// Values in [0, 1]; float rounding in the grey conversion may land a few ulps past 1.
void check_unit_range(const torch::Tensor& t, const char* what) {
  if (t.scalar_type() != torch::kFloat32) fail(what, t);
  if (t.isnan().any().item<bool>()) fail(what, t);
  if (t.min().item<float>() < 0.0f || t.max().item<float>() > 1.0f + 1e-5f) fail(what, t);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);  // one core per fuzzer; no thread pool to start per input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view file(reinterpret_cast<const char*>(bytes), size);
  torch::Tensor gray;
  try {
    gray = fmnist::decode_image(file, "fuzz.img");
  } catch (const fmnist::Error&) {
    return 0;
  }
  if (gray.dim() != 2 || gray.size(0) < 1 || gray.size(1) < 1) fail("decode_image shape", gray);
  check_unit_range(gray, "decode_image range");
  try {
    torch::Tensor input = fmnist::preprocess_image(gray, "fuzz.img");
    if (input.sizes() != torch::IntArrayRef{1, 28, 28}) fail("preprocess_image shape", input);
    check_unit_range(input, "preprocess_image range");
  } catch (const fmnist::Error&) {
  }
  return 0;
}
