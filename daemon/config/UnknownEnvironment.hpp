#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::config {

// Returns a warning for each of names (environment variable names) that
// starts with DOVEWARDEN_ but names no setting of dovewardend:
// "environment: ignoring unknown setting DOVEWARDEN_METRIC_ADDR; did you
// mean 'DOVEWARDEN_METRICS_ADDR'?". A typo would otherwise leave the
// default in force without a word.
std::vector<std::string>
unknown_environment(const std::vector<std::string> &names);

// Returns "; did you mean 'DOVEWARDEN_METRICS_ADDR'?" when name (with or
// without DOVEWARDEN_) is near a setting's variable, or "".
std::string nearest_setting_hint(std::string_view name);
// Returns the names of the process's environment variables.
std::vector<std::string> environment_names();

} // namespace dovewarden::config
