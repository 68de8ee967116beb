#pragma once

#include <tl/expected.hpp>

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

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

// Reads at most max bytes of the file path, a secret, as read_secret_line
// does: the caller wipes them. Returns them, or why they could not be read.
tl::expected<std::string, SecretLineError>
read_secret_file(const std::string &path, std::size_t max,
                 bool require_private);

// Creates the file path, mode 0600, holding bytes, unless it exists: they are
// written whole under a temporary name and linked into place, so that no
// reader sees half of them and a file another process made meanwhile is
// kept. Returns an error text naming the file if it can do neither.
tl::expected<void, std::string> create_private_file(const std::string &path,
                                                    std::string_view bytes);

// Writes bytes into the file path, mode, replacing it whole: under a
// temporary name first, renamed into place once complete. Returns an error
// text naming the file if it cannot.
tl::expected<void, std::string>
replace_file(const std::string &path, std::string_view bytes, mode_t mode);

} // namespace dovewarden::util
