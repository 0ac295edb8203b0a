// Runs `fmnist serve` as a user would: a process, its log, HTTP on loopback and signals.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "test_util.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `fmnist serve ARGS` in `dir`, its stderr in dir/serve.log; killed if still running at the end.
class ServeProcess {
 public:
  ServeProcess(const fs::path& dir, const std::vector<std::string>& args)
      : log_(dir / "serve.log") {
    pid_ = fork();
    if (pid_ == 0) {
      if (!freopen(log_.c_str(), "w", stderr) || chdir(dir.c_str()) != 0) _exit(127);
      std::vector<const char*> argv = {FMNIST_BINARY, "serve"};
      for (const std::string& arg : args) argv.push_back(arg.c_str());
      argv.push_back(nullptr);
      execv(FMNIST_BINARY, const_cast<char* const*>(argv.data()));
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // The port of the "on http://127.0.0.1:PORT" log line, once it appears; 0 after 60 s.
  int port() const {
    std::regex listening("http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 6000; ++i) {
      std::smatch match;
      std::string log = log_text();
      if (std::regex_search(log, match, listening)) return std::stoi(match[1]);
      std::this_thread::sleep_for(10ms);
    }
    return 0;
  }

  std::string log_text() const { return testing::read_bytes(log_); }

  void signal(int number) const { kill(pid_, number); }

  int wait() {
    int raw = 0;
    waitpid(pid_, &raw, 0);
    exited_ = true;
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

class ServeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::save_fresh_checkpoint(dir_ / "model.pt", /*seed=*/3);
    image_ = testing::png_bytes(testing::make_split(4, /*seed=*/2).images[1].unsqueeze(2));
    testing::write_bytes(dir_ / "bag.png", image_);
  }

  testing::TempDir dir_;
  std::string image_;
};

TEST_F(ServeCliTest, AnswersAsPredictReloadsOnHupAndStopsCleanlyOnTerm) {
  ServeProcess server(dir_.path(), {"--model", "model.pt", "--port", "0", "--threads", "1"});
  int port = server.port();
  ASSERT_GT(port, 0) << server.log_text();
  httplib::Client client("127.0.0.1", port);
  auto answer = client.Post("/v1/predict?name=bag.png", image_, "image/png");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  testing::CommandResult predicted =
      testing::run_fmnist("predict bag.png --format json --threads 1", dir_.path());
  EXPECT_EQ(answer->body, predicted.out);

  testing::save_fresh_checkpoint(dir_ / "model.pt", /*seed=*/4);
  server.signal(SIGHUP);
  for (int i = 0; i < 500 && server.log_text().find("reloaded") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(server.log_text().find("reloaded model.pt"), std::string::npos) << server.log_text();
  EXPECT_NE(client.Post("/v1/predict?name=bag.png", image_, "image/png")->body, answer->body);

  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.log_text();
  EXPECT_NE(server.log_text().find("stopped"), std::string::npos);
}

TEST_F(ServeCliTest, APortInUseIsOneErrorLine) {
  ServeProcess first(dir_.path(), {"--port", "0", "--threads", "1"});
  int port = first.port();
  ASSERT_GT(port, 0) << first.log_text();
  testing::CommandResult second =
      testing::run_fmnist("serve --threads 1 --port " + std::to_string(port), dir_.path());
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.err.find("fmnist: error: cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second.err;
  EXPECT_EQ(second.err.find("c10"), std::string::npos);
}

}  // namespace
}  // namespace fmnist
