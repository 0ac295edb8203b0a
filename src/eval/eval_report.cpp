#include "fmnist/eval/eval_report.hpp"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <sstream>

#include "fmnist/eval/metrics.hpp"

namespace fmnist {
namespace {

constexpr int kNameWidth = 15;

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << 100.0 * fraction << "%";
  return out.str();
}

Interval accuracy_interval(const EvalResult& result) {
  return wilson_interval(result.confusion.diagonal().sum().item<std::int64_t>(), result.count());
}

void write_scores_row(std::ostream& out, const std::string& name, const ClassScores& s) {
  out << std::left << std::setw(kNameWidth) << name << std::right << std::setw(10)
      << percent(s.precision) << std::setw(9) << percent(s.recall) << std::setw(9) << percent(s.f1)
      << std::setw(9) << s.support << "\n";
}

void write_scores_table(std::ostream& out, const EvalReport& report) {
  out << std::left << std::setw(kNameWidth) << "class" << std::right << std::setw(10) << "precision"
      << std::setw(9) << "recall" << std::setw(9) << "F1" << std::setw(9) << "support"
      << "\n";
  std::vector<ClassScores> scores = class_scores(report.result.confusion);
  for (std::size_t c = 0; c < scores.size(); ++c) {
    write_scores_row(out, report.class_names[c], scores[c]);
  }
  MacroAverage average = macro_average(scores);
  write_scores_row(out, "macro average", average.mean);
  if (average.classes < static_cast<std::int64_t>(scores.size())) {
    out << "(the macro average is over the " << average.classes << " of " << scores.size()
        << " classes that have images here)\n";
  }
}

// Columns are numbered rather than named, so the table stays 80 columns wide.
void write_confusion_table(std::ostream& out, const EvalReport& report) {
  torch::Tensor confusion = report.result.confusion.contiguous();
  auto cells = confusion.accessor<std::int64_t, 2>();
  out << "confusion matrix (rows: true class, columns: predicted class)\n"
      << std::setw(kNameWidth + 2) << "";
  for (std::int64_t c = 0; c < confusion.size(1); ++c) out << std::setw(6) << c;
  out << "\n";
  for (std::int64_t r = 0; r < confusion.size(0); ++r) {
    out << r << " " << std::left << std::setw(kNameWidth) << report.class_names[r] << std::right;
    for (std::int64_t c = 0; c < confusion.size(1); ++c) out << std::setw(6) << cells[r][c];
    out << "\n";
  }
}

nlohmann::ordered_json scores_json(const ClassScores& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
}

nlohmann::ordered_json macro_json(const MacroAverage& average) {
  nlohmann::ordered_json json = scores_json(average.mean);
  json["classes"] = average.classes;
  return json;
}

}  // namespace

std::string format_eval_text(const EvalReport& report) {
  const EvalResult& result = report.result;
  Interval interval = accuracy_interval(result);
  std::ostringstream out;
  out << "model:    " << report.model_path << " (epoch " << report.epoch << ")\n"
      << "split:    " << report.split << " (" << result.count() << " images)\n"
      << (report.tta ? "tta:      mirror (each image's logits averaged with its mirror's)\n" : "")
      << "loss:     " << std::fixed << std::setprecision(4) << result.metrics.loss << "\n"
      << "accuracy: " << percent(result.metrics.accuracy) << " (95% CI " << percent(interval.low)
      << " - " << percent(interval.high) << ")\n\n";
  write_scores_table(out, report);
  out << "\n";
  write_confusion_table(out, report);
  if (report.plots) {
    out << "\nconfusion heat-map: " << report.plots->confusion.string() << "\n"
        << "errors gallery:     "
        << (report.plots->errors ? report.plots->errors->string() : "none (no errors)") << "\n";
  }
  return out.str();
}

std::string format_eval_json(const EvalReport& report) {
  const EvalResult& result = report.result;
  Interval interval = accuracy_interval(result);
  std::vector<ClassScores> scores = class_scores(result.confusion);
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (std::size_t c = 0; c < scores.size(); ++c) {
    nlohmann::ordered_json entry = scores_json(scores[c]);
    entry["name"] = report.class_names[c];
    classes.push_back(entry);
  }
  torch::Tensor confusion = result.confusion.contiguous();
  nlohmann::ordered_json matrix = nlohmann::ordered_json::array();
  for (std::int64_t r = 0; r < confusion.size(0); ++r) {
    const std::int64_t* row = confusion[r].data_ptr<std::int64_t>();
    matrix.push_back(std::vector<std::int64_t>(row, row + confusion.size(1)));
  }
  nlohmann::ordered_json document = {
      {"model", report.model_path},
      {"epoch", report.epoch},
      {"split", report.split},
      {"images", result.count()},
      {"tta", report.tta},
      {"loss", result.metrics.loss},
      {"accuracy", result.metrics.accuracy},
      {"accuracy_ci95", {interval.low, interval.high}},
      {"classes", classes},
      {"macro_average", macro_json(macro_average(scores))},
      {"confusion", matrix},
      {"plots", nullptr},
  };
  if (report.plots) {
    document["plots"] = {
        {"confusion", report.plots->confusion.string()},
        {"errors", report.plots->errors ? nlohmann::ordered_json(report.plots->errors->string())
                                        : nlohmann::ordered_json(nullptr)}};
  }
  return document.dump(/*indent=*/2) + "\n";
}

}  // namespace fmnist
