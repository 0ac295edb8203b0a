#include "fmnist/base/runtime.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <thread>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

// glibc returns large freed blocks to the kernel by default, and every training step then
// page-faults its activations back in; keeping them costs a few MB of address space.
constexpr int kMmapThresholdBytes = 32 << 20;
constexpr int kTrimThresholdBytes = 1 << 30;

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
}

// Only OpenBLAS has this symbol; another libblas.so.3 simply has nothing to configure.
void single_threaded_blas() {
  using SetThreads = void (*)(int);
  if (auto set_threads =
          reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_threads(1);
  }
}

// Late in training, Adam's first moment of a weight that gets no gradient (a dead unit) decays
// by 0.9 a step into the denormal range, where every operation on it takes a microcode assist;
// epochs 20 and 21 ran 1.2-1.4x faster with denormals flushed, at the same loss to 4 digits.
// The x86 control register is per thread and copied into threads created later: set it
// before LibTorch starts its pool.
void flush_denormals() { at::globalContext().setFlushDenormal(true); }

}  // namespace

void configure_runtime(int threads) {
  if (threads < 0) throw UsageError("--threads: must be 0 (one per core) or more");
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  keep_freed_memory();
  single_threaded_blas();
  flush_denormals();
  torch::set_num_threads(threads);
}

}  // namespace fmnist
