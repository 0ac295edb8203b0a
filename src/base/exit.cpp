#include "fmnist/base/exit.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace fmnist {

void exit_skipping_destructors(int code) {
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& logger) { logger->flush(); });
  std::cout.flush();
  std::fflush(nullptr);  // C's streams; std::cerr is unit-buffered and holds nothing
#ifdef FMNIST_EXIT_NORMALLY
  std::exit(code);
#else
  std::_Exit(code);
#endif
}

}  // namespace fmnist
