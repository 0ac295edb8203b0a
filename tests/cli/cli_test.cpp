// Runs the real fmnist binary, as a user would, and checks its output and exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <regex>
#include <sstream>

#include "fmnist/base/version.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "fmnist/train/distributed.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::CommandResult;
using testing::TempDir;

// The binary run in `dir`; `environment`: NAME=value pairs added to its environment.
CommandResult fmnist(const std::string& args, const TempDir& dir,
                     const std::string& environment = "") {
  return testing::run_fmnist(args, dir.path(), environment);
}

// A failure report is exactly one line, ours, and never a C++ backtrace.
void expect_one_error_line(const CommandResult& run, const std::string& fragment) {
  EXPECT_EQ(run.err.rfind("fmnist: error: ", 0), 0u) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << run.err;
}

// Starts fmnist in the background (output to stdout.txt/stderr.txt in `dir`); returns its pid.
pid_t spawn_fmnist(const std::string& args, const TempDir& dir,
                   const std::string& environment = "") {
  pid_t pid = fork();
  if (pid == 0) {
    std::string command = "cd '" + dir.path().string() + "' && exec env " + environment + " '" +
                          FMNIST_BINARY "' " + args + " >stdout.txt 2>stderr.txt";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int raw = 0;
  waitpid(pid, &raw, 0);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

// The exit status, or -1 (after killing it) if it runs longer than a minute: a hang guard, far
// above the --dist-timeout the tests use, not a measurement.
int wait_status_or_kill(pid_t pid) {
  for (int i = 0; i < 6000; ++i) {
    int raw = 0;
    if (waitpid(pid, &raw, WNOHANG) == pid) return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

std::size_t occurrences(const std::string& text, const std::string& fragment) {
  std::size_t count = 0;
  for (auto at = text.find(fragment); at != std::string::npos; at = text.find(fragment, at + 1)) {
    ++count;
  }
  return count;
}

double max_parameter_difference(const std::filesystem::path& a, const std::filesystem::path& b) {
  auto pa = load_checkpoint(a, torch::kCPU).model->parameters();
  auto pb = load_checkpoint(b, torch::kCPU).model->parameters();
  double difference = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    difference = std::max(difference, (pa[i] - pb[i]).abs().max().item<double>());
  }
  return difference;
}

// Waits (up to a minute) until `path` holds `text`, or the process ends.
bool wait_for_text(const std::filesystem::path& path, const std::string& text, pid_t pid) {
  for (int i = 0; i < 6000; ++i) {
    if (testing::read_bytes(path).find(text) != std::string::npos) return true;
    if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
    usleep(10000);
  }
  return false;
}

class CliTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CliTest, TrainEvalPredictEndToEnd) {
  std::filesystem::create_directories(dir_ / "data");
  testing::write_dataset(dir_ / "data", /*train_count=*/500, /*test_count=*/100);
  CommandResult train = testing::run_fmnist(
      "train --epochs 4 --batch-size 32 --data data --device cpu --threads 1 --checkpoint-dir ck",
      dir_.path());
  ASSERT_EQ(train.status, 0) << train.err;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "ck" / "model.last.pt"));
  EXPECT_NE(train.out.find("model.pt: test accuracy"), std::string::npos) << train.out;
  EXPECT_NE(train.err.find("epoch  4/4"), std::string::npos) << train.err;

  CommandResult eval = testing::run_fmnist("eval model.pt --data data --device cpu", dir_.path());
  ASSERT_EQ(eval.status, 0) << eval.err;
  std::string accuracy = eval.out.substr(eval.out.find("accuracy: ") + 10, 6);
  EXPECT_NE(train.out.find("test accuracy " + accuracy), std::string::npos)
      << train.out << " vs " << accuracy;
  EXPECT_NE(eval.out.find("confusion heat-map: model.confusion.png"), std::string::npos);
  // The errors gallery, or where the model made none, a word instead of an empty picture.
  const bool perfect = accuracy == "100.00";
  if (perfect) {
    EXPECT_NE(eval.out.find("errors gallery:     none (no errors)"), std::string::npos) << eval.out;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "model.errors.png"));
  } else {
    EXPECT_GT(testing::read_bytes(dir_ / "model.errors.png").size(), 1000u);
  }

  // Every output flag makes its missing directories (here --plots).
  CommandResult json =
      fmnist("eval model.pt --data data --device cpu --json --plots plots/new", dir_);
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(json.out.rfind("{\n", 0), 0u) << json.out;
  EXPECT_EQ(json.out.substr(json.out.size() - 2), "}\n");
  EXPECT_NE(
      json.out.find(perfect ? "\"errors\": null" : "\"errors\": \"plots/new/model.errors.png\""),
      std::string::npos)
      << json.out;
  EXPECT_GT(testing::read_bytes(dir_ / "plots" / "new" / "model.confusion.png").size(), 1000u);

  // Test item 3 is class 3; saved as a PNG it must be classified as such.
  auto split = testing::make_split(10, 2);
  testing::write_bytes(dir_ / "item.png", testing::png_bytes(split.images[3].unsqueeze(2)));
  CommandResult predict =
      testing::run_fmnist("predict item.png --top-k 2 --device cpu", dir_.path());
  ASSERT_EQ(predict.status, 0) << predict.err;
  EXPECT_EQ(predict.out.rfind("item.png: Dress ", 0), 0u) << predict.out;
  EXPECT_NE(predict.out.find(", "), std::string::npos) << predict.out;
}

TEST_F(CliTest, PredictGoesOnAfterABadImage) {
  testing::write_dataset(dir_.path(), 100, 50);
  ASSERT_EQ(testing::run_fmnist("train --epochs 1 --data . --device cpu", dir_.path()).status, 0);
  testing::write_bytes(dir_ / "good.png",
                       testing::png_bytes(testing::make_split(1, 2).images[0].unsqueeze(2)));
  testing::write_bytes(dir_ / "bad.png", "not an image");
  CommandResult run = testing::run_fmnist("predict bad.png good.png", dir_.path());
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find("good.png: "), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("fmnist: error: bad.png: not a readable image"), std::string::npos);
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST_F(CliTest, PredictsDirectoriesAndStdinPathsAsJson) {
  testing::save_fresh_checkpoint(dir_ / "model.pt", /*seed=*/1);
  auto items = testing::make_split(4, 2).images;
  std::filesystem::create_directories(dir_ / "photos" / "more");
  for (const char* name : {"photos/a.png", "photos/more/b.png", "listed.png"}) {
    testing::write_bytes(dir_ / name, testing::png_bytes(items[name[0] == 'l'].unsqueeze(2)));
  }
  testing::write_bytes(dir_ / "photos" / "c.jpg", "not a JPEG");
  testing::write_bytes(dir_ / "list.txt", "listed.png\n");
  CommandResult run = fmnist(
      "predict photos - --format json --top-k 2 --device cpu --save-input seen <list.txt", dir_);
  EXPECT_EQ(run.status, 1);  // c.jpg failed, the others were predicted
  expect_one_error_line(run, "photos/c.jpg: not a readable image");
  auto document = nlohmann::json::parse(run.out);
  ASSERT_EQ(document["predictions"].size(), 4u) << run.out;
  EXPECT_EQ(document["predictions"][0]["input"], "photos/a.png");
  EXPECT_EQ(document["predictions"][1]["input"], "photos/c.jpg");
  EXPECT_EQ(document["predictions"][2]["input"], "photos/more/b.png");
  EXPECT_EQ(document["predictions"][3]["input"], "listed.png");
  EXPECT_EQ(document["predictions"][3]["top"].size(), 2u);
  EXPECT_EQ(document["failed"], 1);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "seen" / "000004-listed.png"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "seen" / "000002-c.png"));
}

TEST_F(CliTest, PredictCsvIsOneRowPerInput) {
  testing::save_fresh_checkpoint(dir_ / "model.pt", /*seed=*/1);
  testing::write_bytes(dir_ / "a,b.png",
                       testing::png_bytes(testing::make_split(1, 2).images[0].unsqueeze(2)));
  CommandResult run = fmnist("predict 'a,b.png' --format csv --device cpu", dir_);
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.rfind("input,class_1,probability_1,error\n\"a,b.png\",", 0), 0u) << run.out;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 2) << run.out;
}

TEST_F(CliTest, ShowWritesAGridAndDataVerifyNamesAnotherDataSet) {
  testing::write_dataset(dir_.path(), 20, 20);
  CommandResult show = fmnist("show --data . --class trouser --count 2 --out new/t.png", dir_);
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_EQ(show.out, "new/t.png\n");
  EXPECT_GT(testing::read_bytes(dir_ / "new" / "t.png").size(), 1000u);
  EXPECT_EQ(show.err, "");

  // Past the split's end, it says so (on stderr) and shows what there is.
  CommandResult end = fmnist("show --data . --index 17 --count 5 --out end.png", dir_);
  ASSERT_EQ(end.status, 0) << end.err;
  EXPECT_NE(end.err.find("the test split ends at image 19: showing 3 images, not 5"),
            std::string::npos)
      << end.err;

  CommandResult verify = fmnist("data verify --data .", dir_);
  EXPECT_EQ(verify.status, 1);
  EXPECT_NE(verify.out.find("t10k-labels-idx1-ubyte.gz"), std::string::npos) << verify.out;
  expect_one_error_line(verify, "not Fashion-MNIST");
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  struct Case {
    const char* args;
    const char* fragment;
  } cases[] = {
      {"", "A subcommand is required"},
      {"train --epochs 0", "--epochs"},
      {"train --batch-size -5", "--batch-size"},
      {"train --device tpu", "--device"},
      {"train --frobnicate", "fmnist train: unknown flag --frobnicate (see fmnist train --help)"},
      {"train --augment --no-augment", "--augment excludes --no-augment"},
      {"train --epoch 1", "unknown flag --epoch; did you mean --epochs? (see fmnist train --help)"},
      {"predict x.png --topk=3", "unknown flag --topk; did you mean --top-k?"},
      {"info m.pt --threads 2",
       "fmnist info: unknown flag --threads: only train, eval and predict, which run the model on "
       "data, take --device and --threads (see fmnist info --help)"},
      {"show --device cpu", "fmnist show: unknown flag --device: only train, eval and predict"},
      {"train --epochs abc", "--epochs: must be a whole number from 1 to 1000000, not 'abc'"},
      {"train --epochs 2.5", "--epochs: must be a whole number from 1 to 1000000, not '2.5'"},
      {"train --seed x", "--seed: must be a whole number of at least 0, not 'x'"},
      {"train --master-port http", "--master-port: must be a whole number from 1 to 65535"},
      {"show --count lots", "--count: must be a whole number from 1 to 400, not 'lots'"},
      {"train --label-smoothing x", "--label-smoothing: must be a number from 0 to 0.99, not 'x'"},
      {"trian",
       "'trian' is not a subcommand (train, eval, predict, serve, info, summary, show, data, "
       "checkpoint, completion, manual); did you mean train? (see fmnist --help)"},
      {"data verfy", "did you mean verify? (see fmnist data --help)"},
      {"eval m.pt extra", "fmnist eval: unexpected argument 'extra'"},
      {"predict acc.pt bag.jpg shoe.png",
       "acc.pt looks like a checkpoint, not an image; predict takes the model with --model: "
       "fmnist predict --model acc.pt bag.jpg shoe.png"},
      {"predict", "images is required"},
      {"predict x.png --top-k 11", "--top-k"},
      {"eval --split validation", "--split"},
      {"predict x.png --format xml", "--format"},
      {"train --val-split 1.5", "--val-split"},
      {"train --lr-schedule linear", "--lr-schedule"},
      {"train --val dev", "--val"},
      {"summary --arch resnet50", "--arch"},
      {"train --recipe fastest", "--recipe"},
      {"train --optimizer sgdm", "--optimizer"},
      {"train --patience -1", "--patience"},
      {"--log-file /nonexistent/x.log summary", "--log-file"},
      {"train --nproc 2 --rank 1", "--nproc"},
      {"train --world-size 2", "needs its --rank"},
      {"train --dist-timeout 0", "--dist-timeout"},
      {"eval --plots /dev/null/x",
       "--plots /dev/null/x: cannot create the directory /dev/null/x: Not a directory"},
      {"show --out /dev/null/x/s.png",
       "--out /dev/null/x/s.png: cannot create the directory /dev/null/x: Not a directory"},
      {"data", "A subcommand is required"},
      {"train --epochs", "--epochs: needs a value (see fmnist train --help)"},
      {"--log-level loud info", "(see fmnist --help)"},
      {"serve m.pt --token \"\"", "--token: must not be empty"},
  };
  for (const Case& c : cases) {
    CommandResult run = testing::run_fmnist(c.args, dir_.path());
    EXPECT_EQ(run.status, 2) << c.args << ": " << run.err;
    expect_one_error_line(run, c.fragment);
  }
}

TEST_F(CliTest, CudaWithoutGpuIsAUsageError) {
  if (std::system("nvidia-smi >/dev/null 2>&1") == 0) GTEST_SKIP() << "a GPU is present";
  CommandResult run = testing::run_fmnist("train --device cuda", dir_.path());
  EXPECT_EQ(run.status, 2);
  expect_one_error_line(run, "--device cuda: no CUDA GPU");
}

TEST_F(CliTest, BadFilesExitOneWithOneLine) {
  testing::write_bytes(dir_ / "junk.pt", std::string(1000, 'j'));
  std::filesystem::create_directory(dir_ / "bad");
  testing::write_bytes(dir_ / "bad" / "train-images-idx3-ubyte",
                       testing::idx_bytes({5, 28, 28}, "garbage"));
  testing::write_bytes(dir_ / "bad" / "train-labels-idx1-ubyte", testing::idx_bytes({5}, "\x01"));
  struct Case {
    const char* args;
    const char* fragment;
  } cases[] = {
      {"eval missing.pt",
       "missing.pt: no such file (train a model with 'fmnist train', or name another checkpoint "
       "with --model PATH)"},
      {"eval junk.pt", "junk.pt: not an fmnist checkpoint"},
      {"predict x.png --model junk.pt", "junk.pt: not an fmnist checkpoint"},
      {"train --data bad --epochs 1 --device cpu", "truncated"},
      {"train --data nowhere", "--data nowhere: no such directory"},
  };
  for (const Case& c : cases) {
    CommandResult run = testing::run_fmnist(c.args, dir_.path());
    EXPECT_EQ(run.status, 1) << c.args << ": " << run.err;
    expect_one_error_line(run, c.fragment);
  }
}

TEST_F(CliTest, InterruptKeepsCheckpointAndSaysHowToResume) {
  testing::write_dataset(dir_.path(), /*train_count=*/2000, /*test_count=*/100);
  pid_t pid = spawn_fmnist(
      "train --epochs 1000 --data . --device cpu --threads 1 --out run/bn.pt --checkpoint-dir ck",
      dir_);
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/1000", pid));
  kill(pid, SIGINT);
  EXPECT_EQ(wait_status(pid), 130);
  std::string err = testing::read_bytes(dir_ / "stderr.txt");
  EXPECT_NE(err.find("fmnist: error: training interrupted during epoch"), std::string::npos) << err;
  // The hint continues the same run: the checkpoint stores its outputs and data (and, without
  // --epochs, its 1000 epochs).
  const std::string hint = "continue with: fmnist train --resume ck/bn.last.pt\n";
  EXPECT_NE(err.find(hint), std::string::npos) << err;
  std::int64_t saved = load_checkpoint(dir_ / "ck" / "bn.last.pt", torch::kCPU).epoch;
  std::string command = hint.substr(std::string("continue with: fmnist ").size());
  command.pop_back();  // the newline
  CommandResult resumed = testing::run_fmnist(
      command + " --epochs " + std::to_string(saved + 1) + " --device cpu", dir_.path());
  EXPECT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(load_checkpoint(dir_ / "run" / "bn.pt", torch::kCPU).epoch, saved + 1);
  // One history for the whole run.
  std::string history = testing::read_bytes(dir_ / "ck" / "bn.history.csv");
  EXPECT_EQ(occurrences(history, "\n"), static_cast<std::size_t>(saved + 2)) << history;
}

TEST_F(CliTest, SigtermStopsTrainingWith143AndKeepsTheLastEpoch) {
  testing::write_dataset(dir_.path(), /*train_count=*/2000, /*test_count=*/100);
  pid_t pid = spawn_fmnist("train --epochs 1000 --data . --device cpu --threads 1", dir_);
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/1000", pid));
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_status(pid), 128 + SIGTERM);
  std::string err = testing::read_bytes(dir_ / "stderr.txt");
  EXPECT_NE(err.find("fmnist: error: training interrupted during epoch"), std::string::npos) << err;
  EXPECT_NE(err.find("continue with: fmnist train --resume model.last.pt"), std::string::npos)
      << err;
  EXPECT_GE(load_checkpoint(dir_ / "model.last.pt", torch::kCPU).epoch, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "model.pt"));
}

TEST_F(CliTest, SigkillAtAnyMomentLeavesLoadableCheckpoints) {
  testing::write_dataset(dir_.path(), /*train_count=*/1000, /*test_count=*/100);
  std::mt19937 rng(5);
  for (int round = 0; round < 4; ++round) {
    std::string resume = round == 0 ? "" : " --resume model.last.pt";
    std::filesystem::remove(dir_ / "stderr.txt");  // not to find the last round's log
    pid_t pid = spawn_fmnist("train --epochs 1000 --data . --device cpu" + resume, dir_);
    ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", " train loss ", pid))
        << testing::read_bytes(dir_ / "stderr.txt");
    usleep(100000 + rng() % 400000);
    kill(pid, SIGKILL);
    EXPECT_EQ(wait_status(pid), 128 + SIGKILL);
    for (const char* name : {"model.last.pt", "model.best.pt"}) {
      EXPECT_NO_THROW(load_checkpoint(dir_ / name, torch::kCPU))
          << "round " << round << " " << name;
    }
  }
  Checkpoint last = load_checkpoint(dir_ / "model.last.pt", torch::kCPU);
  Checkpoint best = load_checkpoint(dir_ / "model.best.pt", torch::kCPU);
  EXPECT_GE(last.epoch, 4);  // every round got at least its first epoch saved
  EXPECT_GE(best.metrics.val.accuracy, last.metrics.val.accuracy);
  EXPECT_DOUBLE_EQ(last.best_accuracy, best.metrics.val.accuracy);
}

TEST_F(CliTest, BatchNormModelTrainsEvaluatesPredictsAndDescribesItself) {
  testing::write_dataset(dir_.path(), /*train_count=*/300, /*test_count=*/50);
  CommandResult train = fmnist(
      "train --arch cnn-bn --augment --epochs 2 --lr-schedule cosine --warmup-epochs 1 --data . "
      "--device cpu --threads 1 --log-file train.log",
      dir_);
  ASSERT_EQ(train.status, 0) << train.err;
  std::string log = testing::read_bytes(dir_ / "train.log");
  EXPECT_NE(log.find(" info] epoch  2/2  train loss "), std::string::npos) << log;
  EXPECT_NE(log.find("final model on the 50 test images"), std::string::npos) << log;
  EXPECT_EQ(log.find('\r'), std::string::npos);  // no progress bar in files
  std::string history = testing::read_bytes(dir_ / "model.history.csv");
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 3) << history;

  EXPECT_EQ(fmnist("eval model.pt --data . --device cpu", dir_).status, 0);
  testing::write_bytes(dir_ / "item.png",
                       testing::png_bytes(testing::make_split(1, 2).images[0].unsqueeze(2)));
  EXPECT_EQ(fmnist("predict item.png --device cpu", dir_).status, 0);

  CommandResult info = fmnist("info model.pt", dir_);
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("fmnist train --recipe tutorial --arch cnn-bn --epochs 2 "),
            std::string::npos)
      << info.out;
  EXPECT_NE(info.out.find("--lr-schedule cosine --warmup-epochs 1"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("--augment"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("bn3 (BatchNorm1d)"), std::string::npos) << info.out;
}

// stdout and stderr of `args` run on a pseudo-terminal (util-linux's script), with `environment`.
std::string on_terminal(const std::string& args, const TempDir& dir,
                        const std::string& environment) {
  std::string command = "cd '" + dir.path().string() + "' && env -u FMNIST_DATA " + environment +
                        " script -qec \"'" FMNIST_BINARY "' " + args +
                        "\" /dev/null >terminal.txt 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return testing::read_bytes(dir / "terminal.txt");
}

// On a terminal the log is coloured and the progress bar redrawn in place; NO_COLOR drops the
// colours and keeps the bar; TERM=dumb drops both.
TEST_F(CliTest, TerminalGetsColoursAndProgressBarAsDocumented) {
  // Enough images for a few redraws (every 100 ms) at any speed of one thread.
  testing::write_dataset(dir_.path(), /*train_count=*/3000, /*test_count=*/100);
  const std::string train = "train --epochs 1 --data . --device cpu --threads 1 --force";
  const std::string kGreen = "\x1b[32m", kRedraw = "\r";
  std::string coloured = on_terminal(train, dir_, "TERM=xterm");
  EXPECT_NE(coloured.find(kGreen + "["), std::string::npos) << coloured;  // "[time info]"
  EXPECT_NE(coloured.find(kRedraw + "[#"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\x1b[K"), std::string::npos) << coloured;
  std::string no_color = on_terminal(train, dir_, "TERM=xterm NO_COLOR=1");
  EXPECT_EQ(no_color.find(kGreen), std::string::npos) << no_color;
  EXPECT_NE(no_color.find(kRedraw + "[#"), std::string::npos) << no_color;
  std::string dumb = on_terminal(train, dir_, "TERM=dumb");
  EXPECT_EQ(dumb.find(kGreen), std::string::npos) << dumb;
  EXPECT_EQ(dumb.find("\x1b[K"), std::string::npos) << dumb;
  EXPECT_NE(dumb.find("epoch  1/1"), std::string::npos) << dumb;
}

// --log-file appends (a second run keeps the first one's lines), every line dated; --quiet
// leaves the result on stdout and nothing but warnings on stderr.
TEST_F(CliTest, LogFileAppendsDatedLinesAndQuietLeavesTheResult) {
  testing::write_dataset(dir_.path(), /*train_count=*/300, /*test_count=*/50);
  const std::string train =
      "train --epochs 1 --data . --device cpu --threads 1 --force --log-file run.log";
  ASSERT_EQ(fmnist(train, dir_).status, 0);
  ASSERT_EQ(fmnist(train + " --seed 7", dir_).status, 0);
  std::string log = testing::read_bytes(dir_ / "run.log");
  EXPECT_EQ(occurrences(log, "settings: fmnist train"), 2u) << log;
  EXPECT_NE(log.find("--seed 7"), std::string::npos) << log;
  std::istringstream lines(log);
  const std::regex dated(R"(\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (info|warning)\] .*)");
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(std::regex_match(line, dated)) << line;
  }

  CommandResult quiet = fmnist("-q " + train + " --out quiet.pt", dir_);
  ASSERT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  EXPECT_NE(quiet.out.find("quiet.pt: test accuracy"), std::string::npos) << quiet.out;
  EXPECT_EQ(occurrences(testing::read_bytes(dir_ / "run.log"), "settings: fmnist train"), 2u);

  // Below info, lines wait in the file's buffer: the exit, which skips destructors, flushes them.
  testing::write_bytes(
      dir_ / "item.png",
      testing::png_bytes(
          testing::make_split(/*count=*/1, /*seed=*/3).images[0].unsqueeze(/*dim=*/2)));
  CommandResult debug =
      fmnist("predict item.png --device cpu --log-level debug --log-file debug.log", dir_);
  ASSERT_EQ(debug.status, 0) << debug.err;
  EXPECT_NE(testing::read_bytes(dir_ / "debug.log").find("predicted inputs 1..1"),
            std::string::npos);
}

TEST_F(CliTest, EvalOfTheTrainingSplit) {
  testing::write_dataset(dir_.path(), /*train_count=*/300, /*test_count=*/50);
  ASSERT_EQ(fmnist("train --epochs 1 --data . --device cpu --threads 1", dir_).status, 0);
  CommandResult train_split =
      fmnist("eval model.pt --split train --no-plots --data . --device cpu", dir_);
  ASSERT_EQ(train_split.status, 0) << train_split.err;
  EXPECT_NE(train_split.out.find("split:    train (300 images)"), std::string::npos)
      << train_split.out;
  CommandResult test_split = fmnist("eval model.pt --no-plots --data . --device cpu", dir_);
  EXPECT_NE(test_split.out.find("split:    test (50 images)"), std::string::npos) << test_split.out;
}

// The installed data set against the built-in checksum table (about a second).
TEST_F(CliTest, DataVerifyPassesOnTheInstalledDataSet) {
  const std::filesystem::path installed = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::is_directory(installed)) {
    FMNIST_SKIP_OUTSIDE_CI("no " + installed.string() + " (Debian: dataset-fashion-mnist)");
  }
  CommandResult verify = fmnist("data verify --data " + installed.string(), dir_);
  ASSERT_EQ(verify.status, 0) << verify.err;
  EXPECT_EQ(occurrences(verify.out, " OK "), 4u) << verify.out;
  EXPECT_EQ(occurrences(verify.out, "\n"), 4u) << verify.out;
}

TEST_F(CliTest, VersionNamesFmnistLibTorchAndCuda) {
  for (const char* flag : {"--version", "-V"}) {
    CommandResult version = fmnist(flag, dir_);
    EXPECT_EQ(version.status, 0) << version.err;
    EXPECT_EQ(version.out, version_text() + "\n");
    const std::regex expected(
        R"(fmnist \d+\.\d+\.\d+( \(git [0-9a-f]{7,}(-dirty)?\))?\n)"
        R"(LibTorch \d+\.\d+\.\d+\S*, CUDA (available \(\d+ GPUs?\)|not available)\n)");
    EXPECT_TRUE(std::regex_match(version.out, expected)) << version.out;
  }
}

// The stand-in libraries (cmake/standin_libs.py) supply nothing that a loaded library uses, and
// fmnist starts with every symbol bound.
TEST_F(CliTest, StandInLibrariesSupplyNothingThatIsUsed) {
  if (!std::filesystem::exists(FMNIST_STANDIN_DIR "/standins.json")) {
    FMNIST_SKIP_OUTSIDE_CI(
        "built without stand-in libraries (no Python, or FMNIST_STANDIN_LIBS=OFF)");
  }
  std::string command = FMNIST_STANDIN_CHECK " '" FMNIST_BINARY "' '" FMNIST_STANDIN_DIR "' >'" +
                        (dir_ / "out.txt").string() + "' 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << testing::read_bytes(dir_ / "out.txt");
  EXPECT_NE(testing::read_bytes(dir_ / "out.txt").find(" loaded: OK"), std::string::npos)
      << testing::read_bytes(dir_ / "out.txt");
}

// Checkpoints that an earlier build wrote (tests/data/checkpoints/README.md) load and, on the
// installed test set, score what that build measured when it saved them.
TEST_F(CliTest, EarlierBuildsCheckpointsScoreWhatTheyScoredThen) {
  const std::filesystem::path installed = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::is_directory(installed)) {
    FMNIST_SKIP_OUTSIDE_CI("no " + installed.string() + " (Debian: dataset-fashion-mnist)");
  }
  const std::filesystem::path fixtures = FMNIST_TEST_DATA_DIR "/checkpoints";
  for (const char* arch : {"cnn", "cnn-bn", "resnet"}) {
    const std::filesystem::path file = fixtures / ("fmnist-0.3.0-" + std::string(arch) + ".pt");
    Checkpoint then = load_checkpoint(file, torch::kCPU);
    EXPECT_EQ(then.arch, arch);
    EXPECT_EQ(then.fmnist_version, "0.3.0");
    EXPECT_EQ(then.optimizer_state.size(), then.model->parameters().size()) << arch;
    CommandResult eval = fmnist(
        "eval '" + file.string() + "' --no-plots --device cpu --data " + installed.string(), dir_);
    ASSERT_EQ(eval.status, 0) << eval.err;
    EXPECT_NE(eval.out.find(fmt::format("loss:     {:.4f}\naccuracy: {:.2f}%",
                                        then.metrics.test.loss, 100 * then.metrics.test.accuracy)),
              std::string::npos)
        << arch << ": " << eval.out;
  }
}

// Per-rank batch statistics (README, Data-parallel training): two ranks of cnn-bn do not take
// one process's steps, but learn as well.
TEST_F(CliTest, TwoRanksOfTheBatchNormNetworkLearnAsOneDoes) {
  if (!cpu_ranks_available()) FMNIST_SKIP_OUTSIDE_CI("this build has no Gloo (CPU ranks)");
  testing::write_dataset(dir_.path(), /*train_count=*/1000, /*test_count=*/200);
  const std::string common =
      "train --arch cnn-bn --epochs 3 --batch-size 32 --lr-schedule cosine --data . --device cpu "
      "--threads 1 ";
  ASSERT_EQ(fmnist(common + "--out one.pt", dir_).status, 0);
  CommandResult two = fmnist(common + "--out two.pt --nproc 2", dir_);
  ASSERT_EQ(two.status, 0) << two.err;
  const double one_rank = load_checkpoint(dir_ / "one.pt", torch::kCPU).metrics.test.accuracy;
  const double two_ranks = load_checkpoint(dir_ / "two.pt", torch::kCPU).metrics.test.accuracy;
  EXPECT_GE(two_ranks, 0.9);
  EXPECT_NEAR(two_ranks, one_rank, 0.05);
  EXPECT_GT(max_parameter_difference(dir_ / "one.pt", dir_ / "two.pt"), 1e-5)
      << "equal steps: update README's data-parallel section";
}

// cnn-bn learns: its accuracy on a learnable synthetic set after a few epochs. Batches of 32
// give its running statistics (momentum 0.1) 84 steps to settle; after 24 steps of 128 the
// evaluation-mode network was still at 38 % while it fit the training batches.
TEST_F(CliTest, BatchNormNetworkLearns) {
  testing::write_dataset(dir_.path(), /*train_count=*/1000, /*test_count=*/200);
  CommandResult train = fmnist(
      "train --arch cnn-bn --epochs 3 --batch-size 32 --lr-schedule cosine --data . --device cpu "
      "--threads 1",
      dir_);
  ASSERT_EQ(train.status, 0) << train.err;
  EXPECT_GE(load_checkpoint(dir_ / "model.pt", torch::kCPU).metrics.test.accuracy, 0.9)
      << train.out;
}

// The accurate recipe end to end on a small set: its settings in the log and the checkpoint,
// a flag overriding one of them, eval and predict with test-time augmentation.
TEST_F(CliTest, AccurateRecipeTrainsEvaluatesAndPredictsWithTta) {
  testing::write_dataset(dir_.path(), /*train_count=*/200, /*test_count=*/40);
  CommandResult train = fmnist(
      "train --recipe accurate --epochs 1 --label-smoothing 0.05 --data . --device cpu "
      "--threads 1 --log-file train.log",
      dir_);
  ASSERT_EQ(train.status, 0) << train.err;
  std::string log = testing::read_bytes(dir_ / "train.log");
  EXPECT_NE(log.find("settings: fmnist train --recipe accurate --arch resnet --epochs 1 "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("--optimizer adamw"), std::string::npos) << log;
  EXPECT_NE(log.find("--lr-schedule onecycle"), std::string::npos) << log;
  EXPECT_NE(log.find("--label-smoothing 0.05"), std::string::npos) << log;

  CommandResult eval = fmnist("eval model.pt --tta --no-plots --data . --device cpu", dir_);
  ASSERT_EQ(eval.status, 0) << eval.err;
  EXPECT_NE(eval.err.find("with test-time augmentation"), std::string::npos) << eval.err;
  EXPECT_NE(eval.out.find("accuracy:"), std::string::npos) << eval.out;
  testing::write_bytes(dir_ / "item.png",
                       testing::png_bytes(testing::make_split(1, 2).images[0].unsqueeze(2)));
  EXPECT_EQ(fmnist("predict item.png --tta --device cpu", dir_).status, 0);

  CommandResult info = fmnist("info model.pt", dir_);
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("--recipe accurate --arch resnet"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("stage3 (ResidualBlock)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Total params: 304,122"), std::string::npos) << info.out;
}

TEST_F(CliTest, SummaryOfTheDefaultNetwork) {
  CommandResult run = fmnist("summary", dir_);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("Total params: 225,034"), std::string::npos) << run.out;
  expect_one_error_line(fmnist("info missing.pt", dir_), "missing.pt: no such file");
}

// kill -9 during epoch 2, then --resume: the final weights are bit for bit those of a run that
// was never interrupted (same seed, one thread).
TEST_F(CliTest, ResumeAfterSigkillMidEpochEqualsUninterruptedRun) {
  testing::write_dataset(dir_.path(), /*train_count=*/1000, /*test_count=*/100);
  const std::string train = "train --epochs 3 --batch-size 32 --data . --device cpu --threads 1";
  ASSERT_EQ(testing::run_fmnist(train + " --out whole.pt", dir_.path()).status, 0);

  std::filesystem::remove(dir_ / "stderr.txt");  // holds the first run's "epoch  1/3"
  pid_t pid = spawn_fmnist(train + " --out resumed.pt", dir_);
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/3", pid));
  kill(pid, SIGKILL);
  ASSERT_EQ(wait_status(pid), 128 + SIGKILL);
  ASSERT_FALSE(std::filesystem::exists(dir_ / "resumed.pt"));
  EXPECT_EQ(load_checkpoint(dir_ / "resumed.last.pt", torch::kCPU).epoch, 1);
  CommandResult resumed =
      testing::run_fmnist(train + " --out resumed.pt --resume resumed.last.pt", dir_.path());
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  // Equal weights alone would not show a resume: a run that started over gets them too.
  EXPECT_EQ(resumed.err.find("epoch  1/3"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("epoch  2/3"), std::string::npos) << resumed.err;

  Checkpoint whole = load_checkpoint(dir_ / "whole.pt", torch::kCPU);
  Checkpoint again = load_checkpoint(dir_ / "resumed.pt", torch::kCPU);
  EXPECT_EQ(again.epoch, 3);
  auto expected = whole.model->named_parameters(), actual = again.model->named_parameters();
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& parameter : expected) {
    EXPECT_TRUE(torch::equal(parameter.value(), actual[parameter.key()])) << parameter.key();
  }
  EXPECT_DOUBLE_EQ(again.metrics.test.accuracy, whole.metrics.test.accuracy);
}

TEST_F(CliTest, TwoRanksEndWithOneRanksParametersAlsoAfterResuming) {
  if (!cpu_ranks_available()) FMNIST_SKIP_OUTSIDE_CI("this build has no Gloo (CPU ranks)");
  // 211 images in global batches of 31 (rank parts of 16 and 15, a last batch of 25) or 37
  // (19 and 18, a last batch of 26). The synthetic images are flat bars, so max-pooling
  // windows tie exactly all over them: a convolution whose rounding depended on the batch
  // size flipped winners, and the runs drifted apart by up to 5e-3 for some seeds.
  testing::write_dataset(dir_.path(), /*train_count=*/211, /*test_count=*/51);
  // Crops, flips and erasures are drawn per global batch too: without that, rank 1 took the
  // random draws of the batch's first rows, and the runs differed by 2e-2.
  for (const char* run : {"--batch-size 31 --seed 7", "--batch-size 37 --seed 2",
                          "--batch-size 31 --seed 7 --augment --erasing 0.5"}) {
    const std::string common =
        std::string("train ") + run + " --data . --device cpu --threads 1 --epochs 2 --force ";
    ASSERT_EQ(fmnist(common + "--out one.pt", dir_).status, 0) << run;
    ASSERT_EQ(fmnist(common + "--out two.pt --nproc 2", dir_).status, 0) << run;
    EXPECT_LE(max_parameter_difference(dir_ / "one.pt", dir_ / "two.pt"), 1e-5) << run;
  }
  const std::string common =
      "train --batch-size 31 --seed 1 --data . --device cpu --threads 1 --force ";
  CommandResult one = fmnist(common + "--epochs 2 --out one.pt", dir_);
  ASSERT_EQ(one.status, 0) << one.err;
  CommandResult two = fmnist(common + "--epochs 2 --out two.pt --nproc 2", dir_);
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_LE(max_parameter_difference(dir_ / "one.pt", dir_ / "two.pt"), 1e-5);
  // Rank 0 alone logs and prints the result.
  EXPECT_EQ(occurrences(two.out, "two.pt: test accuracy"), 1u) << two.out;
  EXPECT_EQ(occurrences(two.err, "epoch  2/2"), 1u) << two.err;

  // A run resumed with another world size goes on as if it had not stopped.
  ASSERT_EQ(fmnist(common + "--epochs 1 --out part.pt", dir_).status, 0);
  CommandResult resumed =
      fmnist(common + "--epochs 2 --out part.pt --resume part.pt --nproc 2", dir_);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_LE(max_parameter_difference(dir_ / "one.pt", dir_ / "part.pt"), 1e-5);
}

TEST_F(CliTest, KilledRankMakesTheOtherFail) {
  if (!cpu_ranks_available()) FMNIST_SKIP_OUTSIDE_CI("this build has no Gloo (CPU ranks)");
  testing::write_dataset(dir_.path(), /*train_count=*/2000, /*test_count=*/100);
  TempDir other;
  std::string args = "train --epochs 1000 --device cpu --threads 1 --dist-timeout 5 --data '" +
                     dir_.path().string() + "'";
  std::string port = std::to_string(testing::free_port());
  auto environment = [&](int rank) {
    return "RANK=" + std::to_string(rank) +
           " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port;
  };
  pid_t rank0 = spawn_fmnist(args, dir_, environment(0));
  pid_t rank1 = spawn_fmnist(args, other, environment(1));
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/1000", rank0))
      << testing::read_bytes(dir_ / "stderr.txt");
  kill(rank1, SIGKILL);
  EXPECT_EQ(wait_status(rank1), 128 + SIGKILL);
  EXPECT_EQ(wait_status_or_kill(rank0), 1);
  std::string err = testing::read_bytes(dir_ / "stderr.txt");
  EXPECT_EQ(occurrences(err, "fmnist: error: "), 1u) << err;
  EXPECT_NE(err.find("fmnist: error: rank 0: "), std::string::npos) << err;
}

TEST_F(CliTest, LauncherStopsAllRanksWhenOneDies) {
  if (!cpu_ranks_available()) FMNIST_SKIP_OUTSIDE_CI("this build has no Gloo (CPU ranks)");
  testing::write_dataset(dir_.path(), /*train_count=*/2000, /*test_count=*/100);
  pid_t launcher = spawn_fmnist(
      "train --nproc 2 --epochs 1000 --data . --device cpu --threads 1 --dist-timeout 5", dir_);
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/1000", launcher))
      << testing::read_bytes(dir_ / "stderr.txt");
  std::string err = testing::read_bytes(dir_ / "stderr.txt");
  pid_t rank0 = 0, rank1 = 0;
  ASSERT_EQ(std::sscanf(err.c_str() + err.find("pids "), "pids %d %d", &rank0, &rank1), 2) << err;
  kill(rank1, SIGKILL);
  EXPECT_EQ(wait_status_or_kill(launcher), 1);
  err = testing::read_bytes(dir_ / "stderr.txt");
  EXPECT_NE(err.find("fmnist: error: --nproc 2: rank 1 was killed by signal 9"), std::string::npos)
      << err;
  EXPECT_NE(kill(rank0, 0), 0) << "rank 0 still runs";
}

TEST_F(CliTest, InterruptedLauncherStopsAllRanksWithOneLine) {
  if (!cpu_ranks_available()) FMNIST_SKIP_OUTSIDE_CI("this build has no Gloo (CPU ranks)");
  testing::write_dataset(dir_.path(), /*train_count=*/2000, /*test_count=*/100);
  pid_t launcher =
      spawn_fmnist("train --nproc 2 --epochs 1000 --data . --device cpu --threads 1", dir_);
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/1000", launcher))
      << testing::read_bytes(dir_ / "stderr.txt");
  kill(launcher, SIGINT);
  EXPECT_EQ(wait_status_or_kill(launcher), 130);
  std::string err = testing::read_bytes(dir_ / "stderr.txt");
  EXPECT_EQ(occurrences(err, "fmnist: error: "), 1u) << err;
  EXPECT_NE(err.find("fmnist: error: training interrupted during epoch"), std::string::npos) << err;
}

TEST_F(CliTest, UnreachableStoreFailsAfterTheTimeout) {
  testing::write_dataset(dir_.path(), /*train_count=*/100, /*test_count=*/20);
  std::string port = std::to_string(testing::free_port());
  CommandResult run = fmnist(
      "train --data . --device cpu --rank 1 --world-size 2 --dist-timeout 2 --master-port " + port,
      dir_);
  EXPECT_EQ(run.status, 1);
  // c10d logs its own line about the connection first (through glog, which fmnist leaves be).
  EXPECT_EQ(occurrences(run.err, "fmnist: error: "), 1u) << run.err;
  EXPECT_NE(run.err.find("fmnist: error: rank 1: joining 2 ranks at 127.0.0.1:" + port + " failed"),
            std::string::npos)
      << run.err;
}

TEST_F(CliTest, HelpListsSubcommandsAndExitCodes) {
  CommandResult run = testing::run_fmnist("--help", dir_.path());
  EXPECT_EQ(run.status, 0);
  for (const char* text : {"train", "eval", "predict", "info", "summary", "Exit status"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text;
  }
  // Each subcommand's help names the global flags and the exit codes too.
  for (const char* command : {"train", "eval", "info", "data verify"}) {
    CommandResult help = testing::run_fmnist(std::string(command) + " --help", dir_.path());
    EXPECT_EQ(help.status, 0) << command;
    for (const char* text : {"--log-level LEVEL, -q/--quiet", "Exit status: 0 ok"}) {
      EXPECT_NE(help.out.find(text), std::string::npos) << command << ": " << text;
    }
  }
}

}  // namespace
}  // namespace fmnist
