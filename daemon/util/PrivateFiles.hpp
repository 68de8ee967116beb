#pragma once

#include <tl/expected.hpp>

#include <string>

namespace dovewarden::util {

// Makes directory (its parent must exist) and leaves it mode 0700, or
// takes group and other access away from one that exists, with a log line
// saying so. Returns an error text if it cannot be created or is not a
// directory; a mode it cannot change is logged and left.
tl::expected<void, std::string>
make_private_directory(const std::string &directory);

// Creates the empty file path mode 0600 if it does not exist, or takes
// group and other access away from it, with a log line saying so. Returns
// an error text if it can be neither created nor changed.
tl::expected<void, std::string> make_private_file(const std::string &path);

// Takes group and other access away from path if it exists, with a log
// line saying so. Returns an error text if it exists and cannot be changed.
tl::expected<void, std::string>
make_private_if_present(const std::string &path);

} // namespace dovewarden::util
