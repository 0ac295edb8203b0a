#include "fmnist/report/plot.hpp"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

constexpr const char* kFontFamily = "DejaVu Sans";
constexpr double kTitleSize = 16;
constexpr double kLabelSize = 13;
constexpr double kTickSize = 11;
constexpr double kPi = 3.14159265358979323846;

struct Rgb {
  double r, g, b;
};
// Matplotlib's first tab10 colours: easy to tell apart, also for most colour-blind readers.
constexpr Rgb kPalette[] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157}};
constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kGridGray{0.88, 0.88, 0.88};
constexpr Rgb kHeatHigh{0.031, 0.188, 0.420};  // the darkest blue of matplotlib's "Blues"

// Where a text's anchor point lies in its box: 0 = left/top, 0.5 = centre, 1 = right/bottom.
struct Anchor {
  double x, y;
};

void check(cairo_status_t status) {
  if (status != CAIRO_STATUS_SUCCESS) {
    throw Error(std::string("cannot draw the picture: ") + cairo_status_to_string(status));
  }
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// A white RGB image and the drawing context on it.
class Canvas {
 public:
  Canvas(int width, int height)
      : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height),
                 &cairo_surface_destroy),
        cr_(cairo_create(surface_.get()), &cairo_destroy) {
    check(cairo_status(cr_.get()));
    set_colour(Rgb{1, 1, 1});
    cairo_paint(cr());
  }

  cairo_t* cr() const { return cr_.get(); }

  void set_colour(const Rgb& colour) const {
    cairo_set_source_rgb(cr(), colour.r, colour.g, colour.b);
  }

  double text_width(const std::string& text, double size, bool bold = false) const {
    select_font(size, bold);
    cairo_text_extents_t extents;
    cairo_text_extents(cr(), text.c_str(), &extents);
    return extents.x_advance;
  }

  // Draws `text` in the current colour with its anchor at (x, y), turned by `angle` radians
  // (negative: counter-clockwise on the screen).
  void text(const std::string& text, double x, double y, double size, Anchor anchor,
            double angle = 0, bool bold = false) const {
    cairo_save(cr());
    select_font(size, bold);
    cairo_text_extents_t extents;
    cairo_text_extents(cr(), text.c_str(), &extents);
    // The box height comes from the font, not the text, so labels of one row share a baseline.
    cairo_font_extents_t font;
    cairo_font_extents(cr(), &font);
    cairo_translate(cr(), x, y);
    cairo_rotate(cr(), angle);
    cairo_move_to(cr(), -extents.x_advance * anchor.x,
                  font.ascent - (font.ascent + font.descent) * anchor.y);
    cairo_show_text(cr(), text.c_str());
    cairo_restore(cr());
  }

  void line(double x0, double y0, double x1, double y1, double width) const {
    cairo_set_line_width(cr(), width);
    cairo_move_to(cr(), x0, y0);
    cairo_line_to(cr(), x1, y1);
    cairo_stroke(cr());
  }

  std::string png() const {
    cairo_surface_flush(surface_.get());
    std::string bytes;
    check(cairo_surface_write_to_png_stream(surface_.get(), append_bytes, &bytes));
    return bytes;
  }

 private:
  void select_font(double size, bool bold) const {
    cairo_select_font_face(cr(), kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr(), size);
  }

  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_;
};

// ---- line charts ----

constexpr int kChartWidth = 540;
constexpr int kChartHeight = 400;
constexpr double kPlotLeft = 80, kPlotRight = 25, kPlotTop = 72, kPlotBottom = 58;

// An axis range rounded out to whole steps of 1, 2 or 5 times a power of ten.
struct Axis {
  double low, high, step;
  int ticks() const { return static_cast<int>(std::lround((high - low) / step)) + 1; }
  double tick(int i) const { return low + i * step; }
};

Axis nice_axis(double low, double high, double min_step) {
  constexpr double kTargetTicks = 5;
  if (!(high > low)) {  // one value: a band around it, of its own scale (a constant lr 0.001)
    double pad = low != 0 ? std::abs(low) * 0.5 : 0.5;
    low -= pad;
    high += pad;
  }
  double raw = (high - low) / kTargetTicks;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double mantissa = raw / magnitude;
  double step = magnitude * (mantissa < 1.5 ? 1 : mantissa < 3.5 ? 2 : mantissa < 7.5 ? 5 : 10);
  step = std::max(step, min_step);
  return {std::floor(low / step) * step, std::ceil(high / step) * step, step};
}

std::string tick_label(double value, double step) {
  int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << (std::abs(value) < step * 1e-6 ? 0 : value);
  return out.str();
}

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    low = std::min(low, v);
    high = std::max(high, v);
  }
  bool empty() const { return low > high; }
};

// Maps data coordinates into the plot box of a chart.
struct Frame {
  double left, top, width, height;
  Axis x, y;
  double px(double v) const { return left + (v - x.low) / (x.high - x.low) * width; }
  double py(double v) const { return top + height - (v - y.low) / (y.high - y.low) * height; }
};

Frame chart_frame(const LineChart& chart, double origin) {
  Range xs, ys;
  for (const Series& s : chart.series) {
    TORCH_CHECK(s.x.size() == s.y.size(), "series '", s.name, "' has unequal x and y");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.y[i])) xs.add(s.x[i]);
      ys.add(s.y[i]);
    }
  }
  if (xs.empty()) xs = {0, 1};
  if (ys.empty()) ys = {0, 1};
  return {origin + kPlotLeft,
          kPlotTop,
          kChartWidth - kPlotLeft - kPlotRight,
          kChartHeight - kPlotTop - kPlotBottom,
          nice_axis(xs.low, xs.high, /*min_step=*/1.0),
          nice_axis(ys.low, ys.high, /*min_step=*/0.0)};
}

void draw_axes(const Canvas& canvas, const Frame& f, const LineChart& chart, double origin) {
  for (int i = 0; i < f.y.ticks(); ++i) {
    double y = f.py(f.y.tick(i));
    canvas.set_colour(kGridGray);
    canvas.line(f.left, y, f.left + f.width, y, /*width=*/1);
    canvas.set_colour(kBlack);
    canvas.text(tick_label(f.y.tick(i), f.y.step), f.left - 6, y, kTickSize, Anchor{1, 0.5});
  }
  for (int i = 0; i < f.x.ticks(); ++i) {
    double x = f.px(f.x.tick(i));
    canvas.set_colour(kGridGray);
    canvas.line(x, f.top, x, f.top + f.height, /*width=*/1);
    canvas.set_colour(kBlack);
    canvas.text(tick_label(f.x.tick(i), f.x.step), x, f.top + f.height + 6, kTickSize,
                Anchor{0.5, 0});
  }
  cairo_set_line_width(canvas.cr(), 1);
  cairo_rectangle(canvas.cr(), f.left, f.top, f.width, f.height);
  cairo_stroke(canvas.cr());
  canvas.text(chart.title, origin + kChartWidth / 2.0, 12, kTitleSize, Anchor{0.5, 0}, 0, true);
  canvas.text(chart.x_label, f.left + f.width / 2, kChartHeight - 8, kLabelSize, Anchor{0.5, 1});
  canvas.text(chart.y_label, origin + 20, f.top + f.height / 2, kLabelSize, Anchor{0.5, 0.5},
              -kPi / 2);
}

// The series' names in a row between the title and the plot, each after a sample of its line.
void draw_legend(const Canvas& canvas, const LineChart& chart, double origin) {
  constexpr double kSample = 24, kGap = 8, kSpacing = 22, kY = 48;
  double total = 0;
  for (const Series& s : chart.series)
    total += kSample + kGap + canvas.text_width(s.name, kLabelSize) + kSpacing;
  double x = origin + (kChartWidth - total + kSpacing) / 2;
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    canvas.set_colour(kPalette[i % std::size(kPalette)]);
    canvas.line(x, kY, x + kSample, kY, /*width=*/2.5);
    canvas.set_colour(kBlack);
    canvas.text(chart.series[i].name, x + kSample + kGap, kY, kLabelSize, Anchor{0, 0.5});
    x += kSample + kGap + canvas.text_width(chart.series[i].name, kLabelSize) + kSpacing;
  }
}

// The line, clipped to the plot box by the caller.
void draw_line(const Canvas& canvas, const Frame& f, const Series& s, const Rgb& colour) {
  canvas.set_colour(colour);
  cairo_set_line_width(canvas.cr(), 2);
  cairo_new_path(canvas.cr());
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.y[i])) {
      cairo_new_sub_path(canvas.cr());
    } else {
      cairo_line_to(canvas.cr(), f.px(s.x[i]), f.py(s.y[i]));
    }
  }
  cairo_stroke(canvas.cr());
}

// The markers, unclipped: a point on the box's edge (the first epoch, the best accuracy at the
// top) keeps its whole disc.
void draw_markers(const Canvas& canvas, const Frame& f, const Series& s, const Rgb& colour) {
  canvas.set_colour(colour);
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.y[i])) continue;
    cairo_arc(canvas.cr(), f.px(s.x[i]), f.py(s.y[i]), s.marker_radius, 0, 2 * kPi);
    cairo_fill(canvas.cr());
  }
}

// ---- heat map ----

constexpr double kCell = 52;
constexpr double kCellTextSize = 12;

Rgb heat_colour(double share) {
  // The square root spreads the small shares of the off-diagonal cells over visible shades.
  double t = std::sqrt(std::clamp(share, 0.0, 1.0));
  return {1 + (kHeatHigh.r - 1) * t, 1 + (kHeatHigh.g - 1) * t, 1 + (kHeatHigh.b - 1) * t};
}

double widest(const Canvas& canvas, const std::vector<std::string>& texts, double size) {
  double width = 0;
  for (const std::string& t : texts) width = std::max(width, canvas.text_width(t, size));
  return width;
}

// ---- image grid ----

constexpr int kTileScale = 3;
constexpr double kCaptionSize = 12;
constexpr double kCaptionLine = 16;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A cairo surface holding a uint8 [height, width] grayscale image.
std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> gray_surface(
    const torch::Tensor& pixels) {
  TORCH_CHECK(pixels.dim() == 2 && pixels.scalar_type() == torch::kUInt8,
              "a tile must be uint8 [height, width]");
  torch::Tensor gray = pixels.to(torch::kCPU).contiguous();
  int height = static_cast<int>(gray.size(0)), width = static_cast<int>(gray.size(1));
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), &cairo_surface_destroy);
  check(cairo_surface_status(surface.get()));
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  int stride = cairo_image_surface_get_stride(surface.get());
  const std::uint8_t* source = gray.data_ptr<std::uint8_t>();
  for (int y = 0; y < height; ++y) {
    auto* row = reinterpret_cast<std::uint32_t*>(data + y * stride);
    for (int x = 0; x < width; ++x) {
      std::uint32_t v = source[y * width + x];
      row[x] = (v << 16) | (v << 8) | v;
    }
  }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

}  // namespace

std::string line_charts_png(const std::vector<LineChart>& charts) {
  TORCH_CHECK(!charts.empty(), "line_charts_png: no charts");
  Canvas canvas(kChartWidth * static_cast<int>(charts.size()), kChartHeight);
  for (std::size_t c = 0; c < charts.size(); ++c) {
    double origin = static_cast<double>(c) * kChartWidth;
    Frame frame = chart_frame(charts[c], origin);
    draw_axes(canvas, frame, charts[c], origin);
    draw_legend(canvas, charts[c], origin);
    cairo_save(canvas.cr());
    cairo_rectangle(canvas.cr(), frame.left, frame.top, frame.width, frame.height);
    cairo_clip(canvas.cr());
    for (std::size_t s = 0; s < charts[c].series.size(); ++s) {
      draw_line(canvas, frame, charts[c].series[s], kPalette[s % std::size(kPalette)]);
    }
    cairo_restore(canvas.cr());
    for (std::size_t s = 0; s < charts[c].series.size(); ++s) {
      draw_markers(canvas, frame, charts[c].series[s], kPalette[s % std::size(kPalette)]);
    }
  }
  return canvas.png();
}

std::string heat_map_png(const HeatMap& map) {
  TORCH_CHECK(map.counts.dim() == 2 &&
                  map.counts.size(0) == static_cast<std::int64_t>(map.row_names.size()) &&
                  map.counts.size(1) == static_cast<std::int64_t>(map.column_names.size()),
              "heat_map_png: counts do not match the row and column names");
  torch::Tensor counts = map.counts.to(torch::kCPU, torch::kInt64).contiguous();
  auto cells = counts.accessor<std::int64_t, 2>();
  const std::int64_t rows = counts.size(0), columns = counts.size(1);
  const Canvas measure(1, 1);
  // Column names are turned 45 degrees: they reach down and to the left of their column.
  double column_reach = widest(measure, map.column_names, kLabelSize) * std::sqrt(0.5) + 10;
  double left = std::max(40 + widest(measure, map.row_names, kLabelSize), column_reach);
  double top = 50;
  // A long title (the model's path) widens the picture rather than being cut off; the matrix
  // stays in the middle.
  const double natural_width = left + columns * kCell + 30;
  double width =
      std::max(natural_width, measure.text_width(map.title, kTitleSize, /*bold=*/true) + 20);
  const double shift = (width - natural_width) / 2;
  left += shift;
  double height = top + rows * kCell + column_reach + 40;
  Canvas canvas(static_cast<int>(width), static_cast<int>(height));
  canvas.set_colour(kBlack);
  canvas.text(map.title, width / 2, 14, kTitleSize, Anchor{0.5, 0}, 0, true);
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t row_total = 0;
    for (std::int64_t c = 0; c < columns; ++c) row_total += cells[r][c];
    double y = top + r * kCell;
    for (std::int64_t c = 0; c < columns; ++c) {
      double share = row_total > 0 ? static_cast<double>(cells[r][c]) / row_total : 0.0;
      double x = left + c * kCell;
      canvas.set_colour(heat_colour(share));
      cairo_rectangle(canvas.cr(), x, y, kCell, kCell);
      cairo_fill(canvas.cr());
      canvas.set_colour(share > 0.3        ? Rgb{1, 1, 1}
                        : cells[r][c] == 0 ? Rgb{0.6, 0.6, 0.6}
                                           : kBlack);
      canvas.text(std::to_string(cells[r][c]), x + kCell / 2, y + kCell / 2, kCellTextSize,
                  Anchor{0.5, 0.5});
    }
    canvas.set_colour(kBlack);
    canvas.text(map.row_names[r], left - 8, y + kCell / 2, kLabelSize, Anchor{1, 0.5});
  }
  double grid_bottom = top + rows * kCell;
  for (std::int64_t c = 0; c < columns; ++c) {
    canvas.text(map.column_names[c], left + (c + 0.5) * kCell, grid_bottom + 8, kLabelSize,
                Anchor{1, 0.5}, -kPi / 4);
  }
  cairo_set_line_width(canvas.cr(), 1);
  cairo_rectangle(canvas.cr(), left, top, columns * kCell, rows * kCell);
  cairo_stroke(canvas.cr());
  canvas.text(map.x_label, left + columns * kCell / 2, height - 10, kLabelSize, Anchor{0.5, 1});
  canvas.text(map.y_label, 16 + shift, top + rows * kCell / 2, kLabelSize, Anchor{0.5, 0.5},
              -kPi / 2);
  return canvas.png();
}

std::string image_grid_png(const std::vector<Tile>& tiles, const std::string& title, int columns) {
  TORCH_CHECK(columns > 0, "image_grid_png: no columns");
  const Canvas measure(1, 1);
  double image_side = 0, caption_width = 0;
  std::size_t caption_lines = 0;
  for (const Tile& tile : tiles) {
    image_side = std::max<double>({image_side, static_cast<double>(tile.pixels.size(0)),
                                   static_cast<double>(tile.pixels.size(1))});
    std::vector<std::string> lines = split_lines(tile.caption);
    caption_width = std::max(caption_width, widest(measure, lines, kCaptionSize));
    caption_lines = std::max(caption_lines, lines.size());
  }
  columns = std::max(1, std::min<int>(columns, static_cast<int>(tiles.size())));
  int rows = (static_cast<int>(tiles.size()) + columns - 1) / columns;
  double cell_width = std::max(image_side * kTileScale, caption_width) + 16;
  double cell_height = image_side * kTileScale + caption_lines * kCaptionLine + 16;
  double top = 44, margin = 10;
  double width = std::max(2 * margin + columns * cell_width,
                          measure.text_width(title, kTitleSize, /*bold=*/true) + 20);
  Canvas canvas(static_cast<int>(width), static_cast<int>(top + rows * cell_height + margin));
  canvas.set_colour(kBlack);
  canvas.text(title, width / 2, 12, kTitleSize, Anchor{0.5, 0}, 0, true);
  double left = (width - columns * cell_width) / 2;
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    double cx = left + (i % columns + 0.5) * cell_width;
    double y = top + static_cast<double>(i / columns) * cell_height;
    auto surface = gray_surface(tiles[i].pixels);
    double x = cx - tiles[i].pixels.size(1) * kTileScale / 2.0;
    cairo_save(canvas.cr());
    cairo_translate(canvas.cr(), x, y);
    cairo_scale(canvas.cr(), kTileScale, kTileScale);
    cairo_set_source_surface(canvas.cr(), surface.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(canvas.cr()), CAIRO_FILTER_NEAREST);
    cairo_paint(canvas.cr());
    cairo_restore(canvas.cr());
    canvas.set_colour(kBlack);
    double caption_y = y + image_side * kTileScale + 4;
    for (const std::string& line : split_lines(tiles[i].caption)) {
      canvas.text(line, cx, caption_y, kCaptionSize, Anchor{0.5, 0});
      caption_y += kCaptionLine;
    }
  }
  return canvas.png();
}

}  // namespace fmnist
