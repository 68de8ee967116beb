#pragma once

#include "metrics/Metrics.hpp"

#include <optional>
#include <string>

namespace dovewarden::test {

// The value of the exposition line that is line (a metric name with its
// labels) followed by its value, if metrics has that line.
inline std::optional<double> metric_value(const metrics::Metrics &metrics,
                                          const std::string &line) {
  const auto text = metrics.serialize();
  const auto at = text.find("\n" + line + " ");
  if (at == std::string::npos)
    return std::nullopt;
  return std::stod(text.substr(at + line.size() + 2));
}

} // namespace dovewarden::test
