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

using testing::CommandResult;
using testing::TempDir;

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
  CommandResult train = testing::run_fmnist(
      "train --epochs 4 --batch-size 32 --data data --device cpu --threads 1", dir_.path());
  ASSERT_EQ(train.status, 0) << train.err;
  EXPECT_NE(train.out.find("model.pt: test accuracy"), std::string::npos) << train.out;
  EXPECT_NE(train.err.find("epoch  4/4"), std::string::npos) << train.err;

  CommandResult eval = testing::run_fmnist("eval model.pt --data data --device cpu", dir_.path());
  ASSERT_EQ(eval.status, 0) << eval.err;
  std::string accuracy = eval.out.substr(eval.out.find("accuracy: ") + 10, 6);
  EXPECT_NE(train.out.find("test accuracy " + accuracy), std::string::npos)
      << train.out << " vs " << accuracy;

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

TEST_F(CliTest, UsageErrorsExitTwo) {
  struct Case {
    const char* args;
    const char* fragment;
  } cases[] = {
      {"", "A subcommand is required"},          {"train --epochs 0", "--epochs"},
      {"train --batch-size -5", "--batch-size"}, {"train --device tpu", "--device"},
      {"train --frobnicate", "frobnicate"},      {"predict", "images is required"},
      {"predict x.png --top-k 11", "--top-k"},   {"eval --split validation", "--split"},
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
      {"eval missing.pt", "missing.pt: no such file"},
      {"eval junk.pt", "junk.pt: not a readable checkpoint"},
      {"predict x.png --model junk.pt", "junk.pt: not a readable checkpoint"},
      {"train --data bad --epochs 1 --device cpu", "truncated"},
      {"train --data nowhere", "--data nowhere: holds no Fashion-MNIST IDX files"},
  };
  for (const Case& c : cases) {
    CommandResult run = testing::run_fmnist(c.args, dir_.path());
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
  CommandResult resumed =
      testing::run_fmnist("train --resume model.last.pt --epochs " + std::to_string(saved + 1) +
                              " --data . --device cpu",
                          dir_.path());
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

TEST_F(CliTest, HelpListsSubcommandsAndExitCodes) {
  CommandResult run = testing::run_fmnist("--help", dir_.path());
  EXPECT_EQ(run.status, 0);
  for (const char* text : {"train", "eval", "predict", "Exit status"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace fmnist
