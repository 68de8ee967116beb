#pragma once

#include <string>

namespace dovewarden::util {

// Returns this machine's host name, or "localhost" if it cannot be read.
std::string host_name();

// Has glibc keep up to 32 MiB freed at the top of each heap instead of
// handing it back at once: the store's clients free and allocate buffers
// in bursts, and trimming after each burst (madvise, then page faults) cost
// more than the calls. glibc's own sliding threshold goes up to 64 MiB.
void keep_freed_memory();

// Returns strerror(errnum) without the thread-safety trap of strerror().
std::string error_text(int errnum);

} // namespace dovewarden::util
