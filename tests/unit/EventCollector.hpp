#pragma once

#include "bus/Subscriber.hpp"
#include "core/Event.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace dovewarden::test {

// A bus subscriber that keeps every event it is handed, for a source's tests
// to read what reached the bus.
class EventCollector : public bus::Subscriber {
public:
  std::string name() const override { return "collector"; }
  void handle(const core::Event &event) override {
    std::lock_guard lock(m_mutex);
    m_events.push_back(event);
  }
  std::vector<core::Event> events() const {
    std::lock_guard lock(m_mutex);
    return m_events;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<core::Event> m_events;
};

} // namespace dovewarden::test
