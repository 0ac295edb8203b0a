#include "fmnist/eval/eval_plots.hpp"

#include <iomanip>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/report/plot.hpp"

namespace fmnist {
namespace {

constexpr int kGalleryColumns = 6;

std::string error_caption(std::int64_t index, const std::string& truth, double truth_probability,
                          const std::string& predicted, double confidence) {
  return "#" + std::to_string(index) + "\ntrue: " + truth + " " +
         percent_short_of_certainty(truth_probability) + "\npred: " + predicted + " " +
         percent_short_of_certainty(confidence);
}

std::string tta_note(const EvalReport& report) {
  return report.tta ? ", with test-time augmentation" : "";
}

std::string errors_png(const EvalReport& report, const torch::Tensor& images,
                       const torch::Tensor& labels) {
  const EvalResult& result = report.result;
  std::vector<std::int64_t> wrong = most_confident_errors(result, labels, kGallerySize);
  std::vector<Tile> tiles;
  for (std::int64_t i : wrong) {
    tiles.push_back(
        {images[i][0], error_caption(i, report.class_names[labels[i].item<int>()],
                                     result.true_class_probability[i].item<double>(),
                                     report.class_names[result.predicted[i].item<int>()],
                                     result.confidence[i].item<double>())});
  }
  std::string title = std::to_string(wrong.size()) + " most confident of the " +
                      std::to_string(result.errors()) + " errors on the " + report.split +
                      " split" + tta_note(report);
  return image_grid_png(tiles, title, kGalleryColumns);
}

}  // namespace

EvalPlotPaths eval_plot_paths(const std::string& model_path,
                              const std::optional<std::string>& plots_dir, bool tta) {
  std::filesystem::path model(model_path);
  std::filesystem::path dir = plots_dir ? std::filesystem::path(*plots_dir) : model.parent_path();
  make_output_directory(dir, plots_dir ? "--plots " + *plots_dir
                                       : "the plots beside " + model_path +
                                             " (--plots DIR chooses another place, "
                                             "--no-plots none)");
  std::string stem = model.stem().string() + (tta ? ".tta" : "");
  return {dir / (stem + ".confusion.png"), dir / (stem + ".errors.png")};
}

std::string percent_short_of_certainty(double probability) {
  constexpr int kMaxDecimals = 4;
  for (int decimals = 1; decimals <= kMaxDecimals; ++decimals) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(decimals) << 100.0 * probability;
    double shown = std::stod(out.str()) / 100.0;
    if ((shown < 1.0 || probability >= 1.0) && (shown > 0.0 || probability <= 0.0)) {
      return out.str() + "%";
    }
  }
  return probability > 0.5 ? ">99.9999%" : "<0.0001%";
}

std::vector<std::int64_t> most_confident_errors(const EvalResult& result,
                                                const torch::Tensor& labels, std::int64_t count) {
  torch::Tensor wrong = (result.predicted != labels.to(torch::kCPU)).nonzero().flatten();
  torch::Tensor order = result.confidence.index({wrong}).argsort(/*dim=*/0, /*descending=*/true);
  torch::Tensor chosen = wrong.index({order}).slice(/*dim=*/0, 0, count).contiguous();
  return {chosen.data_ptr<std::int64_t>(), chosen.data_ptr<std::int64_t>() + chosen.numel()};
}

void write_eval_plots(const EvalReport& report, const torch::Tensor& images,
                      const torch::Tensor& labels, const EvalPlotPaths& paths) {
  HeatMap map{"confusion matrix: " + report.model_path + " on the " + report.split + " split" +
                  tta_note(report),
              "predicted class",
              "true class",
              report.result.confusion,
              report.class_names,
              report.class_names};
  write_file_atomically(paths.confusion, heat_map_png(map));
  if (paths.errors) write_file_atomically(*paths.errors, errors_png(report, images, labels));
}

}  // namespace fmnist
