#include "fmnist/logging.hpp"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "fmnist/error.hpp"

namespace fmnist {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("fmnist");
  logger->set_pattern("%^[%T %l]%$ %v");
  spdlog::set_default_logger(logger);
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw UsageError("--log-level: '" + level +
                     "' is not a level (trace, debug, info, warn, error, critical, off)");
  }
  spdlog::set_level(parsed);
  spdlog::cfg::load_env_levels();
}

}  // namespace fmnist
