#pragma once

#include "core/Event.hpp"

#include <string>

namespace dovewarden::filter {

// Decides which events a subscriber sees: TypeFilter matches type globs,
// SourceFilter the source an event came from.
class EventFilter {
public:
  virtual ~EventFilter() = default;

  // Returns true if event passes.
  virtual bool matches(const core::Event &event) const = 0;
  // Returns the filter as configured, for logs.
  virtual std::string describe() const = 0;
};

} // namespace dovewarden::filter
