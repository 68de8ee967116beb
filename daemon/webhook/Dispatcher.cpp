#include "webhook/Dispatcher.hpp"

#include "util/Logger.hpp"
#include "util/Random.hpp"
#include "webhook/Payload.hpp"

#include <stdexcept>
#include <thread>

namespace dovewarden::webhook {

namespace {

using Steady = std::chrono::steady_clock;

// how finely batch_wait is kept
constexpr std::chrono::milliseconds k_flush_interval{25};
constexpr auto k_refusal_log_interval = std::chrono::minutes(1);
// how long stop() keeps retrying a failing store
constexpr auto k_stop_patience = std::chrono::seconds(5);
constexpr auto k_retry_pause = std::chrono::milliseconds(200);

std::string joined(const std::vector<std::string> &globs) {
  std::string text;
  for (const auto &glob : globs)
    text += (text.empty() ? "" : ",") + glob;
  return text;
}

// Passes every event while routing is true, none otherwise.
class RoutingFilter : public filter::EventFilter {
public:
  explicit RoutingFilter(std::shared_ptr<const std::atomic<bool>> routing)
      : m_routing(std::move(routing)) {}

  bool matches(const core::Event &) const override {
    return m_routing->load(std::memory_order_relaxed);
  }
  std::string describe() const override {
    return "* while a webhook endpoint is enabled";
  }

private:
  std::shared_ptr<const std::atomic<bool>> m_routing;
};

} // namespace

Dispatcher::Dispatcher(WebhookStore &store, Options options, Counters counters,
                       std::function<void()> stored)
    : m_store(store), m_options(options), m_counters(counters),
      m_stored(std::move(stored)), m_refusals(k_refusal_log_interval) {
  // the endpoints as they are at start, so that the filter is right from
  // the first event on; if the store cannot say, every event reaches
  // handle(), which tries again
  reload();
  if (m_version) {
    m_reload = false;
    m_next_reload = Steady::now() + m_options.reload_interval;
    m_routing->store(!m_routes.empty());
  }
}

void Dispatcher::endpoints_changed() {
  m_reload = true;
  // events published from now on must reach handle(), which reloads first
  m_routing->store(true);
}

std::unique_ptr<filter::EventFilter> Dispatcher::filter() const {
  return std::make_unique<RoutingFilter>(m_routing);
}

std::chrono::milliseconds Dispatcher::flush_interval() const {
  return k_flush_interval;
}

void Dispatcher::handle(const core::Event &event) {
  reload_if_due();
  // no endpoint (the default): every event passes through here
  if (m_routes.empty() || event.message.str("origin") == "dsync")
    return;
  std::string body;
  for (const auto &route : m_routes) {
    if (!route.types.matches(event) ||
        (route.filter && !route.filter->matches(event)))
      continue;
    if (body.empty()) {
      body = payload(event);
      if (body.size() > m_options.max_payload) {
        m_counters.too_large.Increment();
        if (m_refusals.allow())
          LOG_WARN("webhooks: a ", event.type(), " payload of ", body.size(),
                   " bytes is over the limit of ", m_options.max_payload,
                   " and is not delivered");
        return;
      }
    }
    add(route.endpoint, event.type(), body, 1);
  }
  while (m_pending.size() >= m_options.max_pending) {
    if (write())
      break;
    std::this_thread::sleep_for(k_retry_pause);
  }
}

void Dispatcher::add(const Endpoint &endpoint, const std::string &type,
                     std::string body, std::uint32_t events) {
  if (endpoint.batch_max > 1 && events == 1) {
    auto &batch = m_batches[endpoint.id];
    if (batch.payloads.empty()) {
      batch.first_type = type;
      batch.opened = Steady::now();
    }
    batch.payloads.push_back(std::move(body));
    if (batch.payloads.size() >= endpoint.batch_max) {
      auto full = std::move(batch);
      m_batches.erase(endpoint.id);
      add(endpoint, full.first_type, batch_payload(full.payloads),
          static_cast<std::uint32_t>(full.payloads.size()));
    }
    return;
  }
  Delivery delivery;
  delivery.id = util::sortable_id("msg_");
  delivery.endpoint_id = endpoint.id;
  delivery.event_type = type;
  delivery.events = events;
  delivery.body = std::move(body);
  delivery.created = Clock::now();
  delivery.next_attempt = delivery.created + m_options.first_attempt;
  m_pending.push_back(std::move(delivery));
}

void Dispatcher::close_batches(bool all) {
  const auto now = Steady::now();
  for (auto it = m_batches.begin(); it != m_batches.end();) {
    const Route *route = nullptr;
    for (const auto &candidate : m_routes)
      if (candidate.endpoint.id == it->first)
        route = &candidate;
    // an endpoint removed or changed since: its batch goes out as it is
    const auto wait =
        route ? route->endpoint.batch_wait : std::chrono::milliseconds(0);
    if (!all && now - it->second.opened < wait) {
      ++it;
      continue;
    }
    Delivery delivery;
    delivery.id = util::sortable_id("msg_");
    delivery.endpoint_id = it->first;
    delivery.event_type = it->second.first_type;
    delivery.events = static_cast<std::uint32_t>(it->second.payloads.size());
    delivery.body = batch_payload(it->second.payloads);
    delivery.created = Clock::now();
    delivery.next_attempt = delivery.created + m_options.first_attempt;
    m_pending.push_back(std::move(delivery));
    it = m_batches.erase(it);
  }
}

void Dispatcher::flush() {
  reload_if_due();
  close_batches(false);
  if (auto written = write(); !written)
    throw std::runtime_error(written.error());
}

void Dispatcher::stop() {
  close_batches(true);
  const auto give_up = Steady::now() + k_stop_patience;
  while (true) {
    const auto written = write();
    if (written)
      return;
    if (Steady::now() >= give_up) {
      LOG_ERROR(
          "webhooks: ", m_pending.size(),
          " deliveries could not be stored before shutdown: ", written.error());
      return;
    }
    std::this_thread::sleep_for(k_retry_pause);
  }
}

tl::expected<void, std::string> Dispatcher::write() {
  if (m_pending.empty())
    return {};
  if (auto stored = m_store.enqueue(m_pending); !stored)
    return tl::make_unexpected("storing deliveries failed: " +
                               stored.error().message);
  m_counters.enqueued.Increment(static_cast<double>(m_pending.size()));
  m_pending.clear();
  if (m_stored)
    m_stored();
  return {};
}

void Dispatcher::reload_if_due() {
  const auto now = Steady::now();
  if (!m_reload.exchange(false) && now < m_next_reload)
    return;
  m_next_reload = now + m_options.reload_interval;
  reload();
  // with no route, events stay out of the queue; flush() still reloads on
  // its timer, and a reload asked for meanwhile lets them in again
  // (endpoints_changed() sets m_reload before m_routing, so reading m_reload
  // after this store sees a reload asked for in the meantime)
  m_routing->store(!m_routes.empty());
  if (m_reload)
    m_routing->store(true);
}

void Dispatcher::reload() {
  const auto version = m_store.endpoints_version();
  if (!version) {
    if (m_refusals.allow())
      LOG_WARN("webhooks: cannot read the endpoints: ", version.error());
    return;
  }
  if (m_version == *version)
    return;
  auto endpoints = m_store.endpoints();
  if (!endpoints) {
    if (m_refusals.allow())
      LOG_WARN("webhooks: cannot read the endpoints: ", endpoints.error());
    return;
  }
  std::vector<Route> routes;
  for (auto &endpoint : *endpoints) {
    if (!endpoint.enabled)
      continue;
    auto types = filter::TypeFilter::parse(joined(endpoint.event_types));
    if (!types) {
      LOG_ERROR("webhooks: endpoint ", endpoint.id, ": ", types.error());
      continue;
    }
    std::unique_ptr<filter::FilterExpression> expression;
    if (!endpoint.filter.empty()) {
      auto parsed = filter::FilterExpression::parse(endpoint.filter);
      if (!parsed) {
        LOG_ERROR("webhooks: endpoint ", endpoint.id, ": filter ",
                  parsed.error().message());
        continue;
      }
      expression = std::move(*parsed);
    }
    routes.push_back(
        Route{std::move(endpoint), std::move(*types), std::move(expression)});
  }
  m_routes = std::move(routes);
  m_version = *version;
  LOG_DEBUG("webhooks: ", m_routes.size(), " endpoints enabled");
}

} // namespace dovewarden::webhook
