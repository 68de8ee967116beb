#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace dovewarden::util {

// Returns this machine's host name, or "localhost" if it cannot be read.
std::string host_name();

// Returns strerror(errnum) without the thread-safety trap of strerror().
std::string error_text(int errnum);

// Returns the uid of the user called name, or nothing if there is none.
std::optional<uid_t> user_id(const std::string &name);
// Returns the gid of the group called name, or nothing if there is none.
std::optional<gid_t> group_id(const std::string &name);

} // namespace dovewarden::util
