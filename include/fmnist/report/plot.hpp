#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

// Charts drawn with cairo, returned as PNG bytes (write them with write_file_atomically).
namespace fmnist {

// One curve: points (x[i], y[i]); non-finite y values are gaps. Each point has a round marker.
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  double marker_radius = 3.5;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
};

// The charts side by side, each with axes, ticks, grid lines and a legend.
std::string line_charts_png(const std::vector<LineChart>& charts);

// A matrix of counts as coloured cells with the count in each: a cell's colour is its share of
// its row, so the off-diagonal cells of a confusion matrix stay visible beside the diagonal.
struct HeatMap {
  std::string title;
  std::string x_label;   // what the columns are
  std::string y_label;   // what the rows are
  torch::Tensor counts;  // int64 [rows, columns]
  std::vector<std::string> row_names;
  std::vector<std::string> column_names;
};

std::string heat_map_png(const HeatMap& map);

// A grayscale image, shown enlarged, with a caption of one or more '\n'-separated lines below.
struct Tile {
  torch::Tensor pixels;  // uint8 [height, width]
  std::string caption;
};

std::string image_grid_png(const std::vector<Tile>& tiles, const std::string& title, int columns);

}  // namespace fmnist
