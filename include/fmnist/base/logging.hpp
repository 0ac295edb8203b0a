#pragma once

#include <optional>
#include <string>

namespace fmnist {

// One logging path: spdlog's default logger, writing to stderr (stdout carries results only)
// and, with `log_file`, also appending to that file (with dates, without colour). `level` is an
// spdlog level name ("info", "warn", ...); SPDLOG_LEVEL overrides it. Colour only on a
// terminal, and never with NO_COLOR set or TERM=dumb. UsageError for a bad level or a log file
// that cannot be opened.
void setup_logging(const std::string& level, const std::optional<std::string>& log_file);

}  // namespace fmnist
