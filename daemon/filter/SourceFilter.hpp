#pragma once

#include "filter/EventFilter.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace dovewarden::filter {

// Passes every event that came from none of the excluded sources: a
// subscriber that publishes events of its own ("daemon") keeps them out of
// its queue, so that it never waits for room in the queue only it empties.
// The types in also pass whatever their source: those of the daemon's
// events that others publish.
class SourceFilter : public EventFilter {
public:
  explicit SourceFilter(std::vector<std::string> excluded,
                        std::vector<std::string> also = {})
      : m_excluded(std::move(excluded)), m_also(std::move(also)) {}

  bool matches(const core::Event &event) const override {
    return std::find(m_excluded.begin(), m_excluded.end(), event.source) ==
               m_excluded.end() ||
           std::find(m_also.begin(), m_also.end(), event.type()) !=
               m_also.end();
  }
  // Returns "source != daemon AND source != http", in Dovecot's syntax,
  // then " OR event = TYPE" for each type of also.
  std::string describe() const override {
    std::string text;
    for (const auto &source : m_excluded)
      text += (text.empty() ? "source != " : " AND source != ") + source;
    if (!m_also.empty())
      text = "(" + text + ")";
    for (const auto &type : m_also)
      text += " OR event = " + type;
    return text;
  }

private:
  std::vector<std::string> m_excluded;
  std::vector<std::string> m_also;
};

} // namespace dovewarden::filter
