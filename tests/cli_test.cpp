// Runs the real fmnist binary, as a user would, and checks its output and exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "fmnist/checkpoint.hpp"

#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

struct CommandResult {
  int status = -1;
  std::string out, err;
};

CommandResult fmnist(const std::string& args, const TempDir& dir) {
  std::string command = "cd '" + dir.path().string() + "' && FMNIST_DATA= '" FMNIST_BINARY "' " +
                        args + " >stdout.txt 2>stderr.txt";
  int raw = std::system(command.c_str());
  CommandResult run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  run.out = testing::read_bytes(dir / "stdout.txt");
  run.err = testing::read_bytes(dir / "stderr.txt");
  return run;
}

// A failure report is exactly one line, ours, and never a C++ backtrace.
void expect_one_error_line(const CommandResult& run, const std::string& fragment) {
  EXPECT_EQ(run.err.rfind("fmnist: error: ", 0), 0u) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << run.err;
}

// Starts fmnist in the background (output to stdout.txt/stderr.txt in `dir`); returns its pid.
pid_t spawn_fmnist(const std::string& args, const TempDir& dir) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string command = "cd '" + dir.path().string() + "' && exec '" FMNIST_BINARY "' " + args +
                          " >stdout.txt 2>stderr.txt";
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
  CommandResult train =
      fmnist("train --epochs 4 --batch-size 32 --data data --device cpu --threads 1", dir_);
  ASSERT_EQ(train.status, 0) << train.err;
  EXPECT_NE(train.out.find("model.pt: test accuracy"), std::string::npos) << train.out;
  EXPECT_NE(train.err.find("epoch  4/4"), std::string::npos) << train.err;

  CommandResult eval = fmnist("eval model.pt --data data --device cpu", dir_);
  ASSERT_EQ(eval.status, 0) << eval.err;
  std::string accuracy = eval.out.substr(eval.out.find("accuracy: ") + 10, 6);
  EXPECT_NE(train.out.find("test accuracy " + accuracy), std::string::npos)
      << train.out << " vs " << accuracy;
  EXPECT_NE(eval.out.find("confusion heat-map: model.confusion.png"), std::string::npos);
  EXPECT_GT(testing::read_bytes(dir_ / "model.errors.png").size(), 1000u);

  std::filesystem::create_directory(dir_ / "plots");
  CommandResult json = fmnist("eval model.pt --data data --device cpu --json --plots plots", dir_);
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(json.out.rfind("{\n", 0), 0u) << json.out;
  EXPECT_EQ(json.out.substr(json.out.size() - 2), "}\n");
  EXPECT_NE(json.out.find("\"errors\": \"plots/model.errors.png\""), std::string::npos) << json.out;
  EXPECT_GT(testing::read_bytes(dir_ / "plots" / "model.confusion.png").size(), 1000u);

  // Test item 3 is class 3; saved as a PNG it must be classified as such.
  auto split = testing::make_split(10, 2);
  testing::write_bytes(dir_ / "item.png", testing::png_bytes(split.images[3].unsqueeze(2)));
  CommandResult predict = fmnist("predict item.png --top-k 2 --device cpu", dir_);
  ASSERT_EQ(predict.status, 0) << predict.err;
  EXPECT_EQ(predict.out.rfind("item.png: Dress ", 0), 0u) << predict.out;
  EXPECT_NE(predict.out.find(", "), std::string::npos) << predict.out;
}

TEST_F(CliTest, PredictGoesOnAfterABadImage) {
  testing::write_dataset(dir_.path(), 100, 50);
  ASSERT_EQ(fmnist("train --epochs 1 --data . --device cpu", dir_).status, 0);
  testing::write_bytes(dir_ / "good.png",
                       testing::png_bytes(testing::make_split(1, 2).images[0].unsqueeze(2)));
  testing::write_bytes(dir_ / "bad.png", "not an image");
  CommandResult run = fmnist("predict bad.png good.png", dir_);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find("good.png: "), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("fmnist: error: bad.png: not a readable image"), std::string::npos);
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST_F(CliTest, ShowWritesAGridAndDataVerifyNamesAnotherDataSet) {
  testing::write_dataset(dir_.path(), 20, 20);
  CommandResult show = fmnist("show --data . --class trouser --count 2 --out t.png", dir_);
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_EQ(show.out, "t.png\n");
  EXPECT_GT(testing::read_bytes(dir_ / "t.png").size(), 1000u);

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
      {"train --frobnicate", "frobnicate"},
      {"predict", "images is required"},
      {"predict x.png --top-k 11", "--top-k"},
      {"eval --split validation", "--split"},
      {"eval --plots nowhere", "--plots nowhere: not a directory"},
      {"data", "A subcommand is required"},
  };
  for (const Case& c : cases) {
    CommandResult run = fmnist(c.args, dir_);
    EXPECT_EQ(run.status, 2) << c.args << ": " << run.err;
    expect_one_error_line(run, c.fragment);
  }
}

TEST_F(CliTest, CudaWithoutGpuIsAUsageError) {
  if (std::system("nvidia-smi >/dev/null 2>&1") == 0) GTEST_SKIP() << "a GPU is present";
  CommandResult run = fmnist("train --device cuda", dir_);
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
      {"eval missing.pt", "missing.pt: no such file"},
      {"eval junk.pt", "junk.pt: not a readable checkpoint"},
      {"predict x.png --model junk.pt", "junk.pt: not a readable checkpoint"},
      {"train --data bad --epochs 1 --device cpu", "truncated"},
      {"train --data nowhere", "--data nowhere: holds no Fashion-MNIST IDX files"},
  };
  for (const Case& c : cases) {
    CommandResult run = fmnist(c.args, dir_);
    EXPECT_EQ(run.status, 1) << c.args << ": " << run.err;
    expect_one_error_line(run, c.fragment);
  }
}

TEST_F(CliTest, InterruptKeepsCheckpointAndSaysHowToResume) {
  testing::write_dataset(dir_.path(), /*train_count=*/2000, /*test_count=*/100);
  pid_t pid = spawn_fmnist("train --epochs 1000 --data . --device cpu --threads 1", dir_);
  ASSERT_TRUE(wait_for_text(dir_ / "stderr.txt", "epoch  1/1000", pid));
  kill(pid, SIGINT);
  EXPECT_EQ(wait_status(pid), 130);
  std::string err = testing::read_bytes(dir_ / "stderr.txt");
  EXPECT_NE(err.find("fmnist: error: training interrupted during epoch"), std::string::npos) << err;
  EXPECT_NE(err.find("continue with: fmnist train --resume model.last.pt --epochs 1000"),
            std::string::npos)
      << err;
  std::int64_t saved = load_checkpoint(dir_ / "model.last.pt", torch::kCPU).epoch;
  CommandResult resumed = fmnist("train --resume model.last.pt --epochs " +
                                     std::to_string(saved + 1) + " --data . --device cpu",
                                 dir_);
  EXPECT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(load_checkpoint(dir_ / "model.pt", torch::kCPU).epoch, saved + 1);
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
  EXPECT_GE(best.metrics.test.accuracy, last.metrics.test.accuracy);
  EXPECT_DOUBLE_EQ(last.best_accuracy, best.metrics.test.accuracy);
}

TEST_F(CliTest, HelpListsSubcommandsAndExitCodes) {
  CommandResult run = fmnist("--help", dir_);
  EXPECT_EQ(run.status, 0);
  for (const char* text : {"train", "eval", "predict", "Exit status"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace fmnist
