#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::util {

// Returns how many single-character insertions, deletions, substitutions and
// swaps of neighbours turn a into b (the Damerau-Levenshtein distance, in
// its optimal-string-alignment form), comparing ASCII letters without case.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Returns the candidate nearest to name, if one is close enough to be what
// name meant to say: at most a third of name's length away (one edit at
// least) and at most most_edits, first of the nearest on a tie.
std::optional<std::string>
nearest_name(std::string_view name,
             const std::vector<std::string_view> &candidates,
             std::size_t most_edits = SIZE_MAX);

// Returns "; did you mean 'x'?" for a nearest name x, or "" for none.
std::string did_you_mean(const std::optional<std::string> &nearest);

// Returns did_you_mean() of the nearest candidate.
std::string did_you_mean(std::string_view name,
                         const std::vector<std::string_view> &candidates,
                         std::size_t most_edits = SIZE_MAX);

} // namespace dovewarden::util
