// write_history_plot (declared in history.hpp beside the history it draws).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/report/plot.hpp"
#include "fmnist/train/history.hpp"

namespace fmnist {
namespace {

// The curve of one column of the history, scaled by `factor`.
Series history_series(const std::vector<EpochRecord>& history, const std::string& name,
                      double EpochRecord::*column, double factor) {
  Series series{name, {}, {}};
  for (const EpochRecord& record : history) {
    series.x.push_back(static_cast<double>(record.epoch));
    series.y.push_back(record.*column * factor);
  }
  return series;
}

// The train and validation curves of a measure; a validation curve with no values is left out.
LineChart history_chart(const std::vector<EpochRecord>& history, const std::string& title,
                        double EpochRecord::*train, double EpochRecord::*validation,
                        double factor) {
  LineChart chart{title, "epoch", title, {history_series(history, "train", train, factor)}};
  Series val = history_series(history, "validation", validation, factor);
  if (std::any_of(val.y.begin(), val.y.end(), [](double v) { return std::isfinite(v); })) {
    chart.series.push_back(std::move(val));
  }
  return chart;
}

// The epoch of the best validation accuracy (the first, on a tie: the one `best` holds) as a
// one-point series over the accuracy chart; nothing without validation values.
void mark_best_epoch(const std::vector<EpochRecord>& history, LineChart& accuracy) {
  constexpr double kBestMarkerRadius = 7;
  const EpochRecord* best = nullptr;
  for (const EpochRecord& record : history) {
    if (std::isfinite(record.val_accuracy) &&
        (best == nullptr || record.val_accuracy > best->val_accuracy)) {
      best = &record;
    }
  }
  if (best == nullptr) return;
  accuracy.series.push_back({"best: epoch " + std::to_string(best->epoch),
                             {static_cast<double>(best->epoch)},
                             {100.0 * best->val_accuracy},
                             kBestMarkerRadius});
}

std::string loss_title(double label_smoothing) {
  if (label_smoothing <= 0) return "loss";
  std::ostringstream title;
  title << "loss (training with label smoothing " << label_smoothing << ")";
  return title.str();
}

}  // namespace

void write_history_plot(const std::vector<EpochRecord>& history, const std::filesystem::path& path,
                        double label_smoothing) {
  if (history.empty()) throw Error(path.string() + ": no epochs to plot");
  LineChart loss = history_chart(history, "loss", &EpochRecord::train_loss, &EpochRecord::val_loss,
                                 /*factor=*/1.0);
  loss.title = loss_title(label_smoothing);
  LineChart accuracy = history_chart(history, "accuracy (%)", &EpochRecord::train_accuracy,
                                     &EpochRecord::val_accuracy, /*factor=*/100.0);
  mark_best_epoch(history, accuracy);
  LineChart learning_rate{"learning rate",
                          "epoch",
                          "learning rate",
                          {history_series(history, "at the epoch's start",
                                          &EpochRecord::learning_rate, /*factor=*/1.0)}};
  write_file_atomically(path, line_charts_png({loss, accuracy, learning_rate}));
}

}  // namespace fmnist
