#pragma once

namespace fmnist {

// Ends the process with `code` once the log, stdout and stderr are flushed, without running the
// static destructors of the libraries: LibTorch's deregister every kernel that its initialisers
// registered, 46-90 ms of a 0.4 s `fmnist --version`. Builds with FMNIST_EXIT_NORMALLY defined
// (the sanitizer builds) exit normally, so that LeakSanitizer's check at exit still runs.
[[noreturn]] void exit_skipping_destructors(int code);

}  // namespace fmnist
