#pragma once

#include <string>

namespace fmnist {

// One logging path: spdlog's default logger, writing to stderr (stdout carries results only).
// `level` is an spdlog level name ("info", "warn", ...); SPDLOG_LEVEL overrides it.
void setup_logging(const std::string& level);

}  // namespace fmnist
