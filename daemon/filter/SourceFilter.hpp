#pragma once

#include "filter/EventFilter.hpp"

#include <string>

namespace dovewarden::filter {

// Passes every event that did not come from one source: a subscriber that
// publishes events of its own ("daemon") keeps them out of its queue, so
// that it never waits for room in the queue only it empties.
class SourceFilter : public EventFilter {
public:
  explicit SourceFilter(std::string excluded)
      : m_excluded(std::move(excluded)) {}

  bool matches(const core::Event &event) const override {
    return event.source != m_excluded;
  }
  std::string describe() const override { return "source != " + m_excluded; }

private:
  std::string m_excluded;
};

} // namespace dovewarden::filter
