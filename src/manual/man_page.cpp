#include "fmnist/manual/man_page.hpp"

#include <string>

namespace fmnist {
namespace {

// Text for roff: a backslash, and a dot or quote that would start a request at a line's start.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\\' ? std::string("\\e") : c == '-' ? "\\-" : std::string(1, c);
  if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
  return out;
}

std::string bold(const std::string& text) { return "\\fB" + roff(text) + "\\fR"; }
std::string italic(const std::string& text) { return "\\fI" + roff(text) + "\\fR"; }

// "-q, --quiet" / "--epochs N" / "images ..." in bold, the value in italics.
std::string argument_label(const ArgumentSpec& argument) {
  std::string label;
  for (const std::string& name : argument.names) {
    label += (label.empty() ? "" : ", ") + bold(name);
  }
  if (argument.positional) return italic(argument.names.front());
  if (!argument.value_name.empty()) label += " " + italic(argument.value_name);
  return label;
}

// A command's options; `with_help`: also -h/--help, which every command has (said once).
std::string arguments_section(const CommandSpec& command, bool with_help) {
  std::string text;
  for (const ArgumentSpec& argument : command.arguments) {
    if (!with_help && argument.names.back() == "--help") continue;
    std::string description = argument.description;
    if (!argument.default_value.empty())
      description += " (default: " + argument.default_value + ")";
    text += ".TP\n" + argument_label(argument) + "\n" + roff(description) + "\n";
  }
  return text;
}

std::string synopsis(const std::string& path, const CommandSpec& command) {
  std::string text = bold(path);
  if (!command.arguments.empty()) text += " [" + italic("OPTIONS") + "]";
  for (const ArgumentSpec& argument : command.arguments) {
    if (!argument.positional) continue;
    std::string word = italic(argument.names.front()) + (argument.repeats ? "..." : "");
    text += " " + (argument.required ? word : "[" + word + "]");
  }
  return text;
}

// One subsection per command that does something (a command of subcommands lists those).
std::string commands_section(const std::string& parent, const CommandSpec& command) {
  std::string path = parent + " " + command.name;
  std::string text;
  if (command.subcommands.empty()) {
    text += ".SS \"" + synopsis(path, command) + "\"\n" + roff(command.description) + ".\n";
    text += arguments_section(command, /*with_help=*/false);
  }
  for (const CommandSpec& sub : command.subcommands) text += commands_section(path, sub);
  return text;
}

constexpr const char* kDescription = R"(.SH DESCRIPTION
.B fmnist
trains, evaluates and runs a convolutional image classifier on Fashion-MNIST (or any IDX data
set of 28x28 grayscale images in 10 classes), on the CPU or a CUDA GPU, with LibTorch.
.B fmnist train
reproduces the Keras tutorial's network; \fBfmnist train \-\-recipe accurate\fR trains a small
residual network that reaches about 94 % test accuracy.
)";

constexpr const char* kTrailer = R"(.SH HTTP API
.B fmnist serve
loads a checkpoint once and answers over HTTP on \fB127.0.0.1:8080\fR by default; every error
is a JSON object \fB{"error": "..."}\fR with its status.
.TP
.B POST /v1/predict[?top_k=N&name=NAME]
The image's bytes as the body (Content\-Type \fBimage/*\fR or
\fBapplication/octet\-stream\fR), or files as \fBmultipart/form\-data\fR: the JSON document of
\fBfmnist predict \-\-format json\fR. Concurrent requests are classified together, up to
\fB\-\-max\-batch\fR images per forward pass. 400: not an image; 413: a body over
\fB\-\-max\-body\-mb\fR; 411: a chunked body; 415: another content type; 503 (with Retry\-After): the queue is full.
.TP
.B GET /v1/model
The checkpoint's metadata, as \fBfmnist info \-\-json\fR.
.TP
.B GET /healthz
200 when serving (never asks for the token).
.TP
.B GET /metrics
Prometheus text: requests by route and status, latency and batch\-size histograms, queue
depth, images classified, reloads.
.TP
.B POST /v1/reload
Loads the checkpoint from disk again, as SIGHUP does; a broken file leaves the old model
serving (500).
.PP
With \fB\-\-token\fR, every route but /healthz needs \fBAuthorization: Bearer TOKEN\fR (401
otherwise). SIGINT and SIGTERM stop it once the requests in flight are answered (exit 0).
.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
A runtime error: a file that cannot be read or written, a corrupt data set, image or
checkpoint, or some of predict's inputs could not be classified.
.TP
.B 2
A usage error: an unknown or malformed flag or value.
.TP
.B 130, 143
Training interrupted by SIGINT or SIGTERM; the checkpoint of the last complete epoch is kept
(\fB\-\-resume\fR continues it).
.PP
Every error is one line on standard error, starting with \(lqfmnist: error:\(rq.
.SH ENVIRONMENT
.TP
.B FMNIST_DATA
The directory of the IDX files when \fB\-\-data\fR is not given. Without either, fmnist looks in
\fI./data\fR and \fI/usr/share/datasets/fashion\-mnist\fR (Debian's package
\fBdataset\-fashion\-mnist\fR).
.TP
.B SPDLOG_LEVEL
The log level (as \fB\-\-log\-level\fR), e.g. \fBSPDLOG_LEVEL=debug\fR; it wins over the flag.
.TP
.B NO_COLOR
When set, the log's level tags are not coloured on a terminal.
.TP
.B TERM
With \fBTERM=dumb\fR, no colours and no progress bar.
.TP
.B RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
Set by torchrun: \fBfmnist train\fR then runs as that rank of a data\-parallel run, as with
\fB\-\-rank\fR, \fB\-\-world\-size\fR, \fB\-\-local\-rank\fR, \fB\-\-master\-addr\fR and
\fB\-\-master\-port\fR.
.SH FILES
.TP
.I model.pt
The checkpoint \fBfmnist train\fR writes by default, with \fImodel.last.pt\fR,
\fImodel.best.pt\fR, \fImodel.history.csv\fR and \fImodel.history.png\fR beside it.
.SH EXAMPLES
.nf
fmnist data verify
fmnist train \-\-epochs 20
fmnist train \-\-recipe accurate \-\-out acc.pt
fmnist eval model.pt
fmnist eval acc.pt \-\-tta
fmnist predict bag.jpg shoe.png \-\-top\-k 3
fmnist info model.pt
fmnist serve model.pt
curl \-\-data\-binary @bag.jpg \-H 'Content\-Type: image/jpeg' localhost:8080/v1/predict
.fi
.SH SEE ALSO
The README and the sample images in \fIshare/doc/fmnist\fR under the install prefix
(\fI/usr/local\fR, or \fI/usr\fR for the Debian package).
)";

}  // namespace

std::string man_page(const CommandSpec& fmnist, const std::string& version) {
  std::string text = ".\\\" Written by `fmnist manual` from fmnist's own flags.\n";
  text += ".TH FMNIST 1 \"\" \"" + roff(version) + "\" \"User Commands\"\n";
  // The app's description may start with its name ("fmnist: train, ..."): NAME says it once.
  std::string summary = fmnist.description;
  if (summary.rfind(fmnist.name + ": ", 0) == 0) summary.erase(0, fmnist.name.size() + 2);
  text += ".SH NAME\nfmnist \\- " + roff(summary) + "\n";
  text += ".SH SYNOPSIS\n" + bold(fmnist.name) + " [" + italic("GLOBAL OPTIONS") + "] " +
          italic("COMMAND") + " [" + italic("OPTIONS") + "]\n";
  text += kDescription;
  text +=
      ".SH GLOBAL OPTIONS\nThese go before or after the command; every command also takes "
      "\\fB\\-h\\fR, \\fB\\-\\-help\\fR.\n";
  text += arguments_section(fmnist, /*with_help=*/true);
  text += ".SH COMMANDS\n";
  for (const CommandSpec& command : fmnist.subcommands) {
    text += commands_section(fmnist.name, command);
  }
  return text + kTrailer;
}

}  // namespace fmnist
