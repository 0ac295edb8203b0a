#pragma once

#include "fmnist/base/error.hpp"
#include "fmnist/train/distributed.hpp"

namespace fmnist {

// A rank started by the launcher failed; the launcher exits with that rank's status.
class RankFailed : public Error {
 public:
  RankFailed(const std::string& message, int exit_code);
  int exit_code() const override { return exit_code_; }

 private:
  int exit_code_;
};

// The ranks were interrupted (SIGINT/SIGTERM) and rank 0 has said so: the other ranks and the
// launcher exit with the same status and nothing more to say.
class RanksInterrupted : public AlreadyReported {
 public:
  explicit RanksInterrupted(int exit_code)
      : AlreadyReported("ranks interrupted"), exit_code_(exit_code) {}
  int exit_code() const override { return exit_code_; }

 private:
  int exit_code_;
};

// Whether this process should start --nproc ranks: asked to, and not one of them already
// (a rank has RANK in its environment, from this launcher or torchrun).
bool wants_launcher(const DistributedOptions& options);

// Starts options.nproc ranks of this same command line on this machine, as torchrun would:
// the launcher hosts their TCPStore on the loopback interface and sets RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT. Waits for them; when one fails,
// kills the others and throws RankFailed naming it (RanksInterrupted if it was interrupted).
// SIGINT/SIGTERM are passed on to the ranks.
void launch_local_ranks(const DistributedOptions& options);

}  // namespace fmnist
