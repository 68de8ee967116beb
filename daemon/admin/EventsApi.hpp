#pragma once

#include "admin/Routes.hpp"

namespace dovewarden::metrics {
class Metrics;
}

namespace dovewarden::admin {

// The intake's figures an operator looks at beside the features' (the
// status page), read only:
//   GET /v1/events/lost → {"lost": {"imap": N, "lmtp": N, …}}: the events
//       missing in the plugin processes' sequence numbers, by service, as
//       dovewarden_events_lost_total counts them
class EventsApi final : public Routes {
public:
  explicit EventsApi(const metrics::Metrics &metrics) : m_metrics(metrics) {}

  void install(util::HttpRouter &router) override;

private:
  const metrics::Metrics &m_metrics;
};

} // namespace dovewarden::admin
