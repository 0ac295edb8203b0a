#include "fmnist/base/exit.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace fmnist {

void exit_skipping_destructors(int code) {
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& logger) { logger->flush(); });
  spdlog::shutdown();
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
#ifdef FMNIST_EXIT_NORMALLY
  std::exit(code);
#else
  std::_Exit(code);
#endif
}

}  // namespace fmnist
