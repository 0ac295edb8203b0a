#include "fmnist/base/logging.hpp"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

bool colour_allowed() {
  const char* term = std::getenv("TERM");
  return std::getenv("NO_COLOR") == nullptr && !(term && std::strcmp(term, "dumb") == 0);
}

spdlog::sink_ptr file_sink(const std::string& path) {
  // spdlog's own failure message is long and repeats the path; check the way the user meets it.
  std::FILE* probe = std::fopen(path.c_str(), "a");
  if (!probe) {
    throw UsageError("--log-file " + path + ": cannot open for writing: " + std::strerror(errno));
  }
  std::fclose(probe);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  sink->set_pattern("[%Y-%m-%d %T %l] %v");
  return sink;
}

}  // namespace

void setup_logging(const std::string& level, const std::optional<std::string>& log_file) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw UsageError("--log-level: '" + level +
                     "' is not a level (trace, debug, info, warn, error, critical, off)");
  }
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      colour_allowed() ? spdlog::color_mode::automatic : spdlog::color_mode::never);
  console->set_pattern("%^[%T %l]%$ %v");
  std::vector<spdlog::sink_ptr> sinks{console};
  if (log_file) sinks.push_back(file_sink(*log_file));
  auto logger = std::make_shared<spdlog::logger>("fmnist", sinks.begin(), sinks.end());
  logger->flush_on(spdlog::level::info);  // a killed run's log file ends with its last epoch
  spdlog::set_default_logger(logger);
  spdlog::set_level(parsed);
  spdlog::cfg::load_env_levels();
}

}  // namespace fmnist
