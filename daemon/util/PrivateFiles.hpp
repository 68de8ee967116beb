#pragma once

#include <tl/expected.hpp>

#include <sys/types.h>

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

// Why read_secret_line failed: errnum, if the file could not be read, or
// else the mode of a file that group or others may access.
struct SecretLineError {
  int errnum = 0;
  mode_t mode = 0;
};

// Reads a secret: the first line of the file path, of which at most 4 KiB
// are read, without surrounding white space; the rest is wiped from memory.
// With require_private, refuses a link, and a file that group or others may
// access. Returns the line, or why it could not be read.
tl::expected<std::string, SecretLineError>
read_secret_line(const std::string &path, bool require_private);

} // namespace dovewarden::util
