#pragma once

#include "core/Event.hpp"
#include "core/LossDetector.hpp"
#include "shared/wire.hpp"
#include "util/Throttle.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace dovewarden::bus {
class Bus;
}
namespace dovewarden::metrics {
class Metrics;
}

namespace dovewarden::pipeline {

// What every source hands its events to: counts them, reports the messages
// lost before them (events.lost), and publishes them on the bus.
// Thread-safe: several sources may submit at once.
class Pipeline {
public:
  Pipeline(bus::Bus &bus, metrics::Metrics &metrics,
           core::LossDetector::Options loss_options = {});

  // Takes in one event from a source. Returns how many subscribers took it;
  // 0 means it was filtered out.
  std::size_t submit(core::Event event);
  // Takes in events that arrived together (one ZeroMQ message), in order,
  // as submit() each, handing them to the bus at once.
  void submit(std::vector<core::Event> events);
  // Counts a message source could not decode.
  void reject(std::string_view source, wire::Reject reason);
  // Counts a message source rejected for reason, a short snake_case name.
  void reject(std::string_view source, std::string_view reason);
  // Makes the count of source's rejections for reason, at 0.
  void expect_rejection(std::string_view source, std::string_view reason);

private:
  // Returns the events.lost that event reveals (counted), or nothing. An
  // implausible seq is counted and logged (report_reset), not published.
  std::optional<core::Event> check_loss(const core::Event &event);
  void report_reset(const core::Event &event,
                    const core::LossDetector::Loss &reset);
  std::size_t publish(core::Event event);
  void publish(const std::vector<std::shared_ptr<const core::Event>> &events);

  bus::Bus &m_bus;
  metrics::Metrics &m_metrics;
  std::mutex m_loss_mutex;
  core::LossDetector m_loss;
  std::mutex m_reset_log_mutex;
  util::Throttle m_reset_log; // a warning a minute at most
};

} // namespace dovewarden::pipeline
