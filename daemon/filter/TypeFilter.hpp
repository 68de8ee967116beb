#pragma once

#include "filter/EventFilter.hpp"

#include <tl/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::filter {

// Passes events whose type matches any of a list of globs, written
// comma-separated: "message.*,flags.*", "*". "*" matches any run of
// characters (dots included), "?" one character. A type that is selected
// by name only (core::is_selected_by_name_only: message.open) matches no
// glob but its own name.
class TypeFilter : public EventFilter {
public:
  // Parses comma-separated globs. Returns the filter, or an error text if
  // there is no glob or one holds white space.
  static tl::expected<TypeFilter, std::string> parse(std::string_view globs);

  // Returns true if type matches one of the globs.
  bool matches_type(std::string_view type) const;

  bool matches(const core::Event &event) const override;
  std::string describe() const override;

private:
  TypeFilter() = default;

  std::vector<std::string> m_globs;
  bool m_all = false; // a lone "*": skip the matching
};

} // namespace dovewarden::filter
