#pragma once

namespace fmnist {

// Sets up the process for fast tensor work, once, before any: `threads` intra-op threads
// (0 = one per core; LibTorch alone would use half), OpenBLAS kept single-threaded so its
// pool does not fight LibTorch's, malloc tuned to keep freed batch buffers, and denormal
// floats flushed to zero (on every thread).
void configure_runtime(int threads);

}  // namespace fmnist
