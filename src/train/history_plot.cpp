// write_history_plot (declared in history.hpp beside the history it draws).
#include <algorithm>
#include <cmath>

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

}  // namespace

void write_history_plot(const std::vector<EpochRecord>& history,
                        const std::filesystem::path& path) {
  if (history.empty()) throw Error(path.string() + ": no epochs to plot");
  std::vector<LineChart> charts = {
      history_chart(history, "loss", &EpochRecord::train_loss, &EpochRecord::val_loss,
                    /*factor=*/1.0),
      history_chart(history, "accuracy (%)", &EpochRecord::train_accuracy,
                    &EpochRecord::val_accuracy, /*factor=*/100.0),
  };
  write_file_atomically(path, line_charts_png(charts));
}

}  // namespace fmnist
