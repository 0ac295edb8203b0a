#include "fmnist/image/inputs.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

bool has_image_extension(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& known = image_extensions();
  return std::find(known.begin(), known.end(), extension) != known.end();
}

// Appends the images below `dir`, sorted (directory order is the file system's whim).
void list_directory(const std::string& dir, InputList& list) {
  std::vector<std::string> found;
  std::size_t locked_folders = 0;
  std::error_code error;
  fs::recursive_directory_iterator it;
  // `dir` itself must be listable, or a locked folder would pass for an empty one.
  if (fs::directory_iterator(dir, error); !error) {
    it =
        fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, error);
  }
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    std::error_code ignored;  // a dangling link is not an image; say nothing
    if (it->is_directory(ignored) && !it->is_symlink(ignored)) {
      std::error_code locked;  // its images are inputs that cannot be read: say so
      if (fs::directory_iterator(it->path(), locked); locked) {
        report_error(it->path().string() + ": cannot list the directory: " + locked.message());
        ++locked_folders;
        it.disable_recursion_pending();
      }
    } else if (it->is_regular_file(ignored) && has_image_extension(it->path())) {
      found.push_back(it->path().string());
    }
  }
  list.failures += locked_folders;
  if (error) {
    report_error(dir + ": cannot list the directory: " + error.message());
    ++list.failures;
  } else if (found.empty() && locked_folders == 0) {
    report_error(dir + ": holds no images (no file named *.png, *.jpg, ... below it)");
    ++list.failures;
  }
  std::sort(found.begin(), found.end());
  list.paths.insert(list.paths.end(), found.begin(), found.end());
}

void read_path_lines(std::istream& in, InputList& list) {
  std::size_t before = list.paths.size();
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // a list written on Windows
    if (!line.empty()) list.paths.push_back(line);
  }
  if (list.paths.size() == before) {
    report_error(std::string(kStdinArgument) + ": standard input holds no paths");
    ++list.failures;
  }
}

}  // namespace

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> kExtensions = {".png", ".jpg", ".jpeg", ".jpe", ".gif",
                                                       ".bmp", ".pgm", ".ppm",  ".pnm"};
  return kExtensions;
}

InputList collect_inputs(const std::vector<std::string>& arguments, std::istream& in) {
  InputList list;
  for (const std::string& argument : arguments) {
    std::error_code ignored;  // what is not a directory is read as a file, which names errors
    if (argument == kStdinArgument) {
      read_path_lines(in, list);
    } else if (fs::is_directory(argument, ignored)) {
      list_directory(argument, list);
    } else {
      list.paths.push_back(argument);
    }
  }
  return list;
}

}  // namespace fmnist
