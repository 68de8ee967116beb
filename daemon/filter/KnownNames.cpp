#include "filter/KnownNames.hpp"

#include "core/Catalogue.hpp"
#include "util/EditDistance.hpp"
#include "util/Glob.hpp"

#include <algorithm>
#include <vector>

namespace dovewarden::filter {

namespace {

// the catalogue's types, webhook.test (sent to one endpoint by hand), and
// a glob per family ("message.*") to suggest for a mistyped glob
const std::vector<std::string_view> &known_types() {
  static const std::vector<std::string_view> types = [] {
    std::vector<std::string_view> names = core::catalogue_types();
    names.emplace_back("webhook.test");
    return names;
  }();
  return types;
}

const std::vector<std::string_view> &suggestions() {
  static const std::vector<std::string> families = [] {
    std::vector<std::string> globs;
    for (const auto type : known_types()) {
      const auto dot = type.find('.');
      if (dot == std::string_view::npos)
        continue;
      auto glob = std::string(type.substr(0, dot)) + ".*";
      if (std::find(globs.begin(), globs.end(), glob) == globs.end())
        globs.push_back(std::move(glob));
    }
    return globs;
  }();
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> all = known_types();
    all.insert(all.end(), families.begin(), families.end());
    return all;
  }();
  return names;
}

bool is_glob(std::string_view text) {
  return text.find_first_of("*?") != std::string_view::npos;
}

bool matches_some_type(std::string_view glob) {
  return std::any_of(
      known_types().begin(), known_types().end(), [&](std::string_view type) {
        if (!is_glob(glob) || !core::is_selected_by_name_only(type))
          return util::glob_match(glob, type);
        return false;
      });
}

// Dovecot's own names, which no list holds, are taken for a typo only this
// close to a known one: net_out_bytes is no typo of net_in_bytes
constexpr std::size_t k_open_ended_edits = 2;

} // namespace

std::optional<std::string> unknown_type_glob(std::string_view glob) {
  if (matches_some_type(glob))
    return std::nullopt;
  const bool dovecot_name = glob.find('.') == std::string_view::npos;
  const auto hint = util::did_you_mean(
      glob, suggestions(), dovecot_name ? k_open_ended_edits : SIZE_MAX);
  if (dovecot_name && hint.empty())
    return std::nullopt;
  return "unknown event type '" + std::string(glob) + "'" + hint;
}

std::optional<std::string> unknown_field(std::string_view name,
                                         bool dovecot_events) {
  const auto &fields = core::catalogue_fields();
  if (name == "event" || name == "source" ||
      std::find(fields.begin(), fields.end(), name) != fields.end())
    return std::nullopt;
  const auto hint = util::did_you_mean(
      name, fields, dovecot_events ? k_open_ended_edits : SIZE_MAX);
  if (dovecot_events && hint.empty())
    return std::nullopt;
  return "unknown filter field '" + std::string(name) + "'" + hint;
}

bool selects_dovecot_events(std::string_view glob) {
  return glob.find('.') == std::string_view::npos;
}

} // namespace dovewarden::filter
