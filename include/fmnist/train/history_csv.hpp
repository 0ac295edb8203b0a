#pragma once

#include <filesystem>
#include <vector>

#include "fmnist/train/history.hpp"

namespace fmnist {

// history.csv: a header line, then one line per epoch with the EpochRecord fields in order
// (accuracies as fractions, "nan" where not measured). Written atomically.
void write_history_csv(const std::vector<EpochRecord>& history, const std::filesystem::path& path);

// Reads what write_history_csv wrote; DataError naming the file and line otherwise.
std::vector<EpochRecord> read_history_csv(const std::filesystem::path& path);

}  // namespace fmnist
