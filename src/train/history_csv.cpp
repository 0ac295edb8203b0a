#include "fmnist/train/history_csv.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"

namespace fmnist {
namespace {

constexpr const char* kHeader =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,"
    "images_per_second";
constexpr std::size_t kColumns = 8;
constexpr std::uint64_t kMaxHistoryBytes = std::uint64_t{64} << 20;

std::array<double*, kColumns - 1> measured_fields(EpochRecord& record) {
  return {&record.train_loss,       &record.train_accuracy, &record.val_loss,
          &record.val_accuracy,     &record.learning_rate,  &record.seconds,
          &record.images_per_second};
}

EpochRecord parse_line(const std::string& line, const std::string& where) {
  std::istringstream fields(line);
  std::array<std::string, kColumns> cells;
  std::size_t count = 0;
  for (std::string cell; std::getline(fields, cell, ',');) {
    if (count == kColumns) break;
    cells[count++] = cell;
  }
  if (count != kColumns || fields.peek() != EOF) {
    throw DataError(where + ": expected " + std::to_string(kColumns) + " comma-separated values");
  }
  EpochRecord record;
  auto number = [&](const std::string& cell) {
    char* end = nullptr;
    double value = std::strtod(cell.c_str(), &end);
    if (cell.empty() || *end != '\0') throw DataError(where + ": '" + cell + "' is not a number");
    return value;
  };
  record.epoch = static_cast<std::int64_t>(number(cells[0]));
  auto fields_of = measured_fields(record);
  for (std::size_t i = 0; i < fields_of.size(); ++i) *fields_of[i] = number(cells[i + 1]);
  return record;
}

}  // namespace

void write_history_csv(const std::vector<EpochRecord>& history, const std::filesystem::path& path) {
  std::string text = std::string(kHeader) + "\n";
  for (EpochRecord record : history) {
    text += std::to_string(record.epoch);
    for (double* value : measured_fields(record)) text += fmt::format(",{}", *value);
    text += "\n";
  }
  write_file_atomically(path, text);
}

std::vector<EpochRecord> read_history_csv(const std::filesystem::path& path) {
  std::istringstream lines(read_file(path, kMaxHistoryBytes));
  std::string line;
  if (!std::getline(lines, line) || line != kHeader) {
    throw DataError(path.string() + ": not an fmnist history (unexpected header)");
  }
  std::vector<EpochRecord> history;
  for (int number = 2; std::getline(lines, line); ++number) {
    history.push_back(parse_line(line, path.string() + " line " + std::to_string(number)));
  }
  return history;
}

}  // namespace fmnist
