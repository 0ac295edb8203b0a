#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace fmnist {

// One row of a training run's history.csv: what an epoch measured. Accuracies are fractions;
// the validation columns are NaN when a run has no validation split.
struct EpochRecord {
  std::int64_t epoch = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  double val_loss = 0;
  double val_accuracy = 0;
  double learning_rate = 0;
  double seconds = 0;
  double images_per_second = 0;
};

// Draws the loss and accuracy curves of `history` (train and validation), with the epoch of
// the best validation accuracy marked, and the learning rate, as one PNG at `path`, written
// atomically. A `label_smoothing` above 0 is named on the loss chart: it lifts the training
// loss above the validation loss. Error if it cannot be written.
void write_history_plot(const std::vector<EpochRecord>& history, const std::filesystem::path& path,
                        double label_smoothing = 0);

}  // namespace fmnist
