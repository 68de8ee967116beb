#include "config/UnknownEnvironment.hpp"

#include "config/Config.hpp"
#include "util/EditDistance.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

extern char **environ; // NOLINT(readability-redundant-declaration)

namespace dovewarden::config {

namespace {

constexpr std::string_view k_prefix = "DOVEWARDEN_";

// every name without the prefix: METRICS_ADDR
std::vector<std::string> setting_names() {
  std::vector<std::string> names;
  const auto add = [&](std::string_view env) {
    names.emplace_back(env.substr(k_prefix.size()));
  };
  for (const auto &group : setting_groups())
    for (const auto &setting : group.settings)
      add(setting.env);
  // the CLI, the packaging and the tests read no DOVEWARDEN_ variable that
  // is not one of these
  add(k_config_file_setting.env);
  return names;
}

} // namespace

std::string nearest_setting_hint(std::string_view name) {
  const auto known = setting_names();
  const std::vector<std::string_view> candidates(known.begin(), known.end());
  if (name.compare(0, k_prefix.size(), k_prefix) == 0)
    name.remove_prefix(k_prefix.size());
  auto nearest = util::nearest_name(name, candidates);
  if (nearest)
    nearest->insert(0, k_prefix);
  return util::did_you_mean(nearest);
}

std::vector<std::string>
unknown_environment(const std::vector<std::string> &names) {
  const auto known = setting_names();
  std::vector<std::string> warnings;
  for (const auto &name : names) {
    if (name.compare(0, k_prefix.size(), k_prefix) != 0)
      continue;
    const auto rest = std::string_view(name).substr(k_prefix.size());
    if (std::find(known.begin(), known.end(), rest) != known.end())
      continue;
    std::string warning = "environment: ignoring unknown setting ";
    warning += name;
    warning += nearest_setting_hint(name);
    warnings.push_back(std::move(warning));
  }
  return warnings;
}

std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char **entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    names.emplace_back(text.substr(0, text.find('=')));
  }
  return names;
}

} // namespace dovewarden::config
