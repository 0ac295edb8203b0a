#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fmnist {

// Edits (insertions, deletions, substitutions and swaps of neighbours) that turn `a` into `b`.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate a user most likely meant by `word` ("--epoch" for "--epochs", "trian" for
// "train"): the closest one within a third of the word's length in edits (at least one), or
// the only candidate that starts with it. None when nothing is that close.
std::optional<std::string> closest_name(const std::string& word,
                                        const std::vector<std::string>& candidates);

}  // namespace fmnist
