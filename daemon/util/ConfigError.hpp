#pragma once

#include "util/Fatal.hpp"

#include <string>

namespace dovewarden::util {

// Bad configuration: the message names the setting first, e.g.
// DOVEWARDEN_METRICS_ADDR: invalid address "foo": expected HOST:PORT
class ConfigError : public Fatal {
public:
  ConfigError(const std::string &setting, const std::string &problem)
      : Fatal(setting + ": " + problem) {}
};

} // namespace dovewarden::util
