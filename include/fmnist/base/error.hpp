#pragma once

#include <stdexcept>
#include <string>

namespace fmnist {

// Exit statuses of the fmnist binary (documented in README and --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitUsageError = 2;
inline constexpr int kExitInterrupted = 130;  // SIGINT
inline constexpr int kExitTerminated = 143;   // SIGTERM

// Every error fmnist reports is one of these; main turns it into one "fmnist: error:" line.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_code() const { return kExitRuntimeError; }
};

// A flag or argument that cannot work, whatever the files say.
class UsageError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitUsageError; }
};

class DataError : public Error {
 public:
  using Error::Error;
};

class CheckpointError : public Error {
 public:
  using Error::Error;
};

class ImageError : public Error {
 public:
  using Error::Error;
};

// Failures already reported one line each (e.g. some of predict's images); main only sets
// the exit status.
class AlreadyReported : public Error {
 public:
  using Error::Error;
};

// Training stopped by SIGINT/SIGTERM after its checkpoint was written.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal_number);
  int exit_code() const override;
  int signal_number() const { return signal_number_; }

 private:
  int signal_number_;
};

// The first line of an exception's message: c10::Error appends a C++ backtrace after it.
std::string first_line(const std::string& message);

// Writes "fmnist: error: <message>" to stderr: the one way errors reach the user.
void report_error(const std::string& message);

// The message of any exception, without a backtrace, for the one-line error report.
std::string describe(const std::exception& error);

}  // namespace fmnist
