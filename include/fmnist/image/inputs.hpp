#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace fmnist {

// The argument that stands for a list of paths on standard input, one a line.
inline constexpr const char* kStdinArgument = "-";

// File name extensions (lower case, with the dot) a directory is searched for.
const std::vector<std::string>& image_extensions();

struct InputList {
  std::vector<std::string> paths;
  std::size_t failures = 0;  // arguments that could not be listed, each reported
};

// The image paths `arguments` name, in order: a file as given, a directory's images (found
// recursively by extension, sorted), and for "-" the lines of `in` (blank lines skipped). An
// argument that yields no path (a directory without images, an empty stdin) or cannot be
// listed gets its one error line and counts as a failure.
InputList collect_inputs(const std::vector<std::string>& arguments, std::istream& in);

}  // namespace fmnist
