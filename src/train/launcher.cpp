#include "fmnist/train/launcher.hpp"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "fmnist/base/interrupt.hpp"

extern char** environ;

namespace fmnist {
namespace {

constexpr const char* kLoopback = "127.0.0.1";

// This process's own command line, to start the ranks with.
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> arguments;
  for (std::size_t start = 0; start < bytes.size();) {
    std::size_t end = bytes.find('\0', start);
    arguments.push_back(bytes.substr(start, end - start));
    start = end == std::string::npos ? bytes.size() : end + 1;
  }
  return arguments;
}

// Our environment with the variables torchrun gives its workers, here for local rank `rank`.
std::vector<std::string> rank_environment(int rank, int nproc, int port) {
  std::map<std::string, std::string> set = {
      {"RANK", std::to_string(rank)},
      {"LOCAL_RANK", std::to_string(rank)},
      {"WORLD_SIZE", std::to_string(nproc)},
      {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
      {"MASTER_ADDR", kLoopback},
      {"MASTER_PORT", std::to_string(port)},
      {"TORCHELASTIC_USE_AGENT_STORE", "True"},  // the store is ours, the ranks its clients
      {"TORCHELASTIC_RESTART_COUNT", "0"},
  };
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string variable = *entry;
    if (set.count(variable.substr(0, variable.find('='))) == 0) environment.push_back(variable);
  }
  for (const auto& [name, value] : set) environment.push_back(name + "=" + value);
  return environment;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

pid_t start_rank(std::vector<std::string> arguments, std::vector<std::string> environment) {
  std::vector<char*> argv = c_strings(arguments);
  std::vector<char*> envp = c_strings(environment);
  pid_t launcher = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("--nproc: cannot start a rank: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec. A rank dies with its launcher, and
    // inherits none of its descriptors (the store's sockets).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != launcher) ::_exit(1);
    ::close_range(3, ~0U, 0);
    ::execve("/proc/self/exe", argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string describe_exit(int raw_status) {
  if (WIFSIGNALED(raw_status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(raw_status),
                       strsignal(WTERMSIG(raw_status)));
  }
  return fmt::format("exited with status {}", WEXITSTATUS(raw_status));
}

// A rank that exits 130/143 was interrupted, and the others stop at the same step by their vote.
bool was_interrupted(int raw_status) {
  return WIFEXITED(raw_status) && (WEXITSTATUS(raw_status) == kExitInterrupted ||
                                   WEXITSTATUS(raw_status) == kExitTerminated);
}

struct RankExit {
  int rank;
  int raw_status;
};

// Waits for every rank; after the first failure that is not an interrupt, kills the others (a
// rank waiting on a dead peer would otherwise only stop at the timeout). Signals to the
// launcher go to the ranks.
std::optional<RankExit> wait_for_ranks(std::map<pid_t, int> running) {
  InterruptGuard interrupts;
  bool forwarded = false;
  std::optional<RankExit> failure;
  while (!running.empty()) {
    int raw_status = 0;
    pid_t pid = ::waitpid(-1, &raw_status, 0);
    if (pid < 0) {
      if (errno != EINTR) throw Error(std::string("--nproc: waitpid: ") + std::strerror(errno));
      if (int signal_number = interrupts.pending_signal(); signal_number != 0 && !forwarded) {
        for (const auto& [rank_pid, rank] : running) ::kill(rank_pid, signal_number);
        forwarded = true;
      }
      continue;
    }
    auto found = running.find(pid);
    if (found == running.end()) continue;
    int rank = found->second;
    running.erase(found);
    bool ok = WIFEXITED(raw_status) && WEXITSTATUS(raw_status) == 0;
    if (!ok && !failure) {
      failure = RankExit{rank, raw_status};
      if (was_interrupted(raw_status)) continue;
      for (const auto& [rank_pid, other] : running) ::kill(rank_pid, SIGKILL);
    }
  }
  return failure;
}

}  // namespace

RankFailed::RankFailed(const std::string& message, int exit_code)
    : Error(message), exit_code_(exit_code) {}

bool wants_launcher(const DistributedOptions& options) {
  return options.nproc > 1 && std::getenv("RANK") == nullptr;
}

void launch_local_ranks(const DistributedOptions& options) {
  if (options.rank || options.world_size || options.local_rank) {
    throw UsageError("--nproc: starts its own ranks; drop --rank, --world-size and --local-rank");
  }
  RankConfig config = resolve_rank_config(options);  // checks --dist-timeout
  c10d::TCPStoreOptions store_options;
  store_options.port = 0;  // any free port
  store_options.isServer = true;
  store_options.waitWorkers = false;
  store_options.timeout = config.timeout;
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(kLoopback, store_options);
  } catch (const std::exception& e) {
    throw Error("--nproc: cannot open the ranks' store on " + std::string(kLoopback) + ": " +
                describe(e));
  }
  std::vector<std::string> arguments = own_arguments();
  std::map<pid_t, int> running;
  std::vector<pid_t> pids;
  for (int rank = 0; rank < options.nproc; ++rank) {
    pids.push_back(start_rank(arguments, rank_environment(rank, options.nproc, store->getPort())));
    running[pids.back()] = rank;
  }
  spdlog::info("started {} ranks, pids {}", options.nproc, fmt::join(pids, " "));
  std::optional<RankExit> failure = wait_for_ranks(running);
  if (!failure) return;
  int raw_status = failure->raw_status;
  if (was_interrupted(raw_status)) throw RanksInterrupted(WEXITSTATUS(raw_status));
  throw RankFailed(fmt::format("--nproc {}: rank {} {}; stopped the other ranks", options.nproc,
                               failure->rank, describe_exit(raw_status)),
                   WIFEXITED(raw_status) ? WEXITSTATUS(raw_status) : kExitRuntimeError);
}

}  // namespace fmnist
