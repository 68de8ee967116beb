#pragma once

#include <cstddef>

namespace dovewarden::util {

// A request the listener answers itself, before any route sees it, because
// it broke a limit or could not be read.
struct HttpRefusal {
  enum class Reason {
    too_large,  // the body is over the listener's max_body: 413
    unreadable, // the body is malformed (a bad chunk): 400
  };
  Reason reason;
  int status;
  std::size_t body_size; // bytes of the body read or announced
  std::size_t max_body;
};

} // namespace dovewarden::util
