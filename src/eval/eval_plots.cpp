#include "fmnist/eval/eval_plots.hpp"

#include <iomanip>
#include <sstream>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/report/plot.hpp"

namespace fmnist {
namespace {

constexpr int kGalleryColumns = 6;

std::string error_caption(std::int64_t index, const std::string& truth,
                          const std::string& predicted, double confidence) {
  std::ostringstream out;
  out << "#" << index << "\ntrue: " << truth << "\npred: " << predicted << " " << std::fixed
      << std::setprecision(1) << 100.0 * confidence << "%";
  return out.str();
}

std::string errors_png(const EvalReport& report, const torch::Tensor& images,
                       const torch::Tensor& labels) {
  const EvalResult& result = report.result;
  std::vector<std::int64_t> wrong = most_confident_errors(result, labels, kGallerySize);
  std::vector<Tile> tiles;
  for (std::int64_t i : wrong) {
    tiles.push_back(
        {images[i][0], error_caption(i, report.class_names[labels[i].item<int>()],
                                     report.class_names[result.predicted[i].item<int>()],
                                     result.confidence[i].item<double>())});
  }
  std::int64_t total_wrong =
      result.count() - result.confusion.diagonal().sum().item<std::int64_t>();
  std::string title = std::to_string(wrong.size()) + " most confident of the " +
                      std::to_string(total_wrong) + " errors on the " + report.split + " split";
  return image_grid_png(tiles, title, kGalleryColumns);
}

}  // namespace

EvalPlotPaths eval_plot_paths(const std::string& model_path,
                              const std::optional<std::string>& plots_dir) {
  std::filesystem::path model(model_path);
  std::filesystem::path dir = plots_dir ? std::filesystem::path(*plots_dir) : model.parent_path();
  make_output_directory(dir, plots_dir ? "--plots " + *plots_dir
                                       : "the plots beside " + model_path +
                                             " (--plots DIR chooses another place, "
                                             "--no-plots none)");
  std::string stem = model.stem().string();
  return {dir / (stem + ".confusion.png"), dir / (stem + ".errors.png")};
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
  HeatMap map{"confusion matrix: " + report.model_path + " on the " + report.split + " split",
              "predicted class",
              "true class",
              report.result.confusion,
              report.class_names,
              report.class_names};
  write_file_atomically(paths.confusion, heat_map_png(map));
  write_file_atomically(paths.errors, errors_png(report, images, labels));
}

}  // namespace fmnist
