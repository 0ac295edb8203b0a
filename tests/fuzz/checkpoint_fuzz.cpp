// libFuzzer target for fmnist::parse_checkpoint, the whole load path of a checkpoint file (the
// zip listing, the format-2 document and its tensors, the format-1 strict check). Run through
// scripts/fuzz.sh; the corpus holds real checkpoints of both formats, so mutations reach past
// the zip listing into the entries.
//
// A CheckpointError (any fmnist::Error) is the expected answer to a bad file; any other
// exception escapes and aborts, as do sanitizer reports; a checkpoint that loads must have the
// architecture's parameter count and give finite-shaped logits.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fmnist/base/error.hpp"
#include "fmnist/model/checkpoint.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string file(reinterpret_cast<const char*>(bytes), size);
  try {
    fmnist::Checkpoint checkpoint = fmnist::parse_checkpoint(file, "fuzz.pt", torch::kCPU);
    torch::NoGradGuard no_grad;
    torch::Tensor logits = checkpoint.model->forward(torch::zeros({1, 1, 28, 28}));
    if (logits.sizes() != torch::IntArrayRef{1, fmnist::kNumClasses}) {
      std::fprintf(stderr, "checkpoint_fuzz: contract broken: logits shape\n");
      std::abort();
    }
  } catch (const fmnist::Error&) {
  }
  return 0;
}
