#pragma once

#include "filter/EventFilter.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace dovewarden::filter {

// Passes every event that came from none of the excluded sources: a
// subscriber that publishes events of its own ("daemon") keeps them out of
// its queue, so that it never waits for room in the queue only it empties.
class SourceFilter : public EventFilter {
public:
  explicit SourceFilter(std::vector<std::string> excluded)
      : m_excluded(std::move(excluded)) {}

  bool matches(const core::Event &event) const override {
    return std::find(m_excluded.begin(), m_excluded.end(), event.source) ==
           m_excluded.end();
  }
  // Returns "source != daemon AND source != http", in Dovecot's syntax.
  std::string describe() const override {
    std::string text;
    for (const auto &source : m_excluded)
      text += (text.empty() ? "source != " : " AND source != ") + source;
    return text;
  }

private:
  std::vector<std::string> m_excluded;
};

} // namespace dovewarden::filter
