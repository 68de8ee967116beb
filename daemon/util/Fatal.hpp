#pragma once

#include <stdexcept>
#include <string>

namespace dovewarden::util {

// Thrown when the daemon cannot go on (a listener that cannot be bound, ...).
// The message is the whole line shown to the operator, setting name first.
class Fatal : public std::runtime_error {
public:
  explicit Fatal(const std::string &message) : std::runtime_error(message) {}
};

} // namespace dovewarden::util
