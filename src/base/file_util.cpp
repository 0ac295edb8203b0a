#include "fmnist/base/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

std::string system_reason() { return std::strerror(errno); }

// Closes the descriptor on every path out, so an error cannot leak it.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, std::string_view content, const std::string& name) {
  while (!content.empty()) {
    ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) throw Error(name + ": cannot write: " + system_reason());
    content.remove_prefix(static_cast<std::size_t>(written));
  }
}

}  // namespace

void check_not_a_directory(const std::filesystem::path& out, const std::string& flag,
                           const std::string& example_name) {
  std::error_code ec;
  if (out.has_filename() && !std::filesystem::is_directory(out, ec)) return;
  throw UsageError(flag + " " + out.string() + ": is a directory; give a file name, e.g. " + flag +
                   " " + (out / example_name).lexically_normal().string());
}

bool is_missing(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::status(path, ec).type() == std::filesystem::file_type::not_found;
}

std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string name = path.string();
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) throw Error(name + ": no such file");
  if (ec) throw Error(name + ": cannot open: " + ec.message());
  if (std::filesystem::is_directory(status)) throw Error(name + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(name + ": cannot open: " + system_reason());
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) throw Error(name + ": cannot read (not a regular file?)");
  if (static_cast<std::uint64_t>(size) > max_bytes) {
    throw Error(name + ": file is too large (" + std::to_string(size) + " bytes, at most " +
                std::to_string(max_bytes) + " accepted)");
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) throw Error(name + ": cannot read: " + system_reason());
  return bytes;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::string name = path.string();
  std::filesystem::path directory = path.parent_path().empty() ? "." : path.parent_path();
  std::string temp_name = (directory / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  FileDescriptor fd(::mkstemp(temp_name.data()));
  if (fd.get() < 0)
    throw Error(name + ": cannot create a file in " + directory.string() + ": " + system_reason());
  try {
    // mkstemp makes the file private; a model file gets the usual permissions.
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd.get(), 0666 & ~mask);
    write_all(fd.get(), content, name);
    if (::fsync(fd.get()) != 0) throw Error(name + ": cannot flush to disk: " + system_reason());
    if (::close(fd.release()) != 0) throw Error(name + ": cannot write: " + system_reason());
    if (::rename(temp_name.c_str(), name.c_str()) != 0) {
      throw Error(name + ": cannot replace: " + system_reason());
    }
  } catch (...) {
    ::unlink(temp_name.c_str());
    throw;
  }
  // Make the rename itself durable; failing here cannot leave a broken file, so it is not fatal.
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY));
  if (dir.get() >= 0) ::fsync(dir.get());
}

void make_output_directory(std::filesystem::path directory, const std::string& flag) {
  if (directory.empty()) directory = ".";
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    throw UsageError(flag + ": cannot create the directory " + directory.string() + ": " +
                     ec.message());
  }
  if (!std::filesystem::is_directory(directory, ec) || ::access(directory.c_str(), W_OK) != 0) {
    throw UsageError(flag + ": directory " + directory.string() + " is not writable");
  }
}

}  // namespace fmnist
