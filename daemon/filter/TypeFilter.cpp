#include "filter/TypeFilter.hpp"

#include "core/Catalogue.hpp"
#include "util/Glob.hpp"
#include "util/Strings.hpp"

#include <algorithm>

namespace dovewarden::filter {

tl::expected<TypeFilter, std::string>
TypeFilter::parse(std::string_view globs) {
  TypeFilter filter;
  for (const auto glob : util::split(globs, ',')) {
    if (glob.find_first_of(" \t") != std::string_view::npos)
      return tl::unexpected("glob " + util::quote(glob) +
                            " holds white space; separate globs with commas");
    filter.m_globs.emplace_back(glob);
  }
  if (filter.m_globs.empty())
    return tl::unexpected(
        std::string("expected comma-separated type globs, e.g. message.*"));
  filter.m_all = std::any_of(
      filter.m_globs.begin(), filter.m_globs.end(), [](const auto &glob) {
        return glob.find_first_not_of('*') == std::string::npos;
      });
  return filter;
}

bool TypeFilter::matches_type(std::string_view type) const {
  if (core::is_selected_by_name_only(type))
    return std::find(m_globs.begin(), m_globs.end(), type) != m_globs.end();
  if (m_all)
    return true;
  return std::any_of(m_globs.begin(), m_globs.end(), [&](const auto &glob) {
    return util::glob_match(glob, type);
  });
}

bool TypeFilter::matches(const core::Event &event) const {
  return matches_type(event.type());
}

std::string TypeFilter::describe() const {
  std::string text;
  for (const auto &glob : m_globs) {
    if (!text.empty())
      text += ',';
    text += glob;
  }
  return text;
}

} // namespace dovewarden::filter
