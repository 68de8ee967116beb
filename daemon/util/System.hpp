#pragma once

#include <string>

namespace dovewarden::util {

// Returns this machine's host name, or "localhost" if it cannot be read.
std::string host_name();

// Returns strerror(errnum) without the thread-safety trap of strerror().
std::string error_text(int errnum);

} // namespace dovewarden::util
