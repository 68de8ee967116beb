#include "util/System.hpp"

#include <unistd.h>

#include <climits>
#include <cstring>

namespace dovewarden::util {

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

std::string error_text(int errnum) {
  char buffer[256];
  // GNU strerror_r returns the text, which may or may not be buffer
  return ::strerror_r(errnum, buffer, sizeof(buffer));
}

} // namespace dovewarden::util
