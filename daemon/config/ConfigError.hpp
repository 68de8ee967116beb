#pragma once

#include "util/Fatal.hpp"

#include <string>

namespace dovewarden::config {

// Bad configuration: the message names the setting first, e.g.
// DOVEWARDEN_METRICS_ADDR: invalid address "foo": expected HOST:PORT
class ConfigError : public util::Fatal {
public:
  ConfigError(const std::string &setting, const std::string &problem)
      : util::Fatal(setting + ": " + problem) {}
};

} // namespace dovewarden::config
