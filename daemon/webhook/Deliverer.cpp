#include "webhook/Deliverer.hpp"

#include "util/Logger.hpp"
#include "util/Throttle.hpp"
#include "util/Time.hpp"
#include "webhook/ClaimLeases.hpp"
#include "webhook/CurlTransport.hpp"
#include "webhook/EndpointQueues.hpp"
#include "webhook/Outbox.hpp"
#include "webhook/Signature.hpp"
#include "webhook/StoreThread.hpp"
#include "webhook/TransferJudgement.hpp"
#include "webhook/WebhookMetrics.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dovewarden::webhook {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_gauge_interval{1000};
constexpr auto k_prune_interval = std::chrono::hours(1);

// Returns the POST of delivery to endpoint, signed at `at`, as Standard
// Webhooks has it. Takes the delivery's body: the store needs only its id
// and endpoint after that.
Post signed_post(const Endpoint &endpoint, Delivery &delivery, TimePoint at) {
  const std::string timestamp = std::to_string(util::unix_seconds(at));
  Post post;
  post.url = endpoint.url;
  post.timeout = endpoint.timeout;
  post.headers = {"webhook-id: " + delivery.id,
                  "webhook-timestamp: " + timestamp,
                  "webhook-signature: " +
                      signature_header(endpoint.secrets, at, delivery.id,
                                       timestamp, delivery.body),
                  "Content-Type: application/json", "Expect:"};
  post.body = std::move(delivery.body);
  return post;
}

// A delivery whose POST is in flight.
struct Sending {
  Delivery delivery; // without its body
  std::uint64_t claim = 0;
  TimePoint at; // when it was signed and sent
};

} // namespace

// The deliverer's thread. It claims due deliveries and holds them in their
// endpoints' queues (EndpointQueues), sends what the queues start
// (CurlTransport), judges each transfer that ends (judge_transfer()) and
// has the attempts recorded. Every store call of the steady flow (Outbox)
// runs on a StoreThread, in the order asked, and its answer comes back as a
// reply this thread runs: so requests go out while the last round's
// attempts are written and the next round is claimed.
class Deliverer::Loop {
public:
  Loop(WebhookStore &store, const Options &options, const Publish &publish,
       webhook::WebhookMetrics *metrics, const std::atomic<bool> &stopping);

  void wake() {
    m_woken = true;
    m_transport.wake();
  }
  void endpoints_changed() {
    m_outbox.endpoints_changed();
    wake();
  }
  void run();

private:
  // Asks the store for due deliveries, unless a claim is under way.
  void claim();
  void claimed(std::uint64_t claim, std::size_t max, Outbox::Claimed answer);
  // Holds each delivery for its endpoint. Returns how many were kept.
  std::size_t hold(std::uint64_t claim, std::vector<Delivery> deliveries,
                   Steady::time_point lease_end);
  void take_endpoints(EndpointsRead read);
  // Starts what the endpoints' limits allow. Returns how long until a
  // rate limit lets a held delivery start (max if none waits for that).
  Steady::duration start_ready();
  void start(const Endpoint &endpoint, Held held);
  // Takes the transfers that ended. Returns how many.
  std::size_t collect();
  // Judges a transfer that ended and keeps its attempt for record().
  void ended(CurlTransport::Id id, TransferResult result);
  void report(const Judgement &judged, const Delivery &delivery);
  // Has the attempts judged so far recorded in one store call, unless one
  // is under way.
  void record();
  void recorded(std::vector<Outbox::Judged> batch,
                const Outbox::Recorded &answer);
  // What is held for an endpoint disabled is put back, and
  // webhook.endpoint_disabled published.
  void endpoint_disabled(const Endpoint &endpoint, const std::string &reason);
  // Returns how long to wait for the transfers before looking again.
  milliseconds poll_wait(Steady::duration rate_wait) const;
  void drain();
  // Lets the transfers in flight end, for up to stop_wait, and drops the
  // rest.
  void finish_in_flight();
  void update_gauges(bool force);
  // Deletes finished deliveries older than the retention, once an hour.
  void prune_if_due();
  // While the store cannot write, has it probed (when the backoff allows).
  void check_store();
  // Returns the lease a claim asks for: the longest endpoint timeout and
  // the margins.
  milliseconds lease() const;

  const Options &m_options;
  const Publish &m_publish;
  webhook::WebhookMetrics *m_metrics;
  const std::atomic<bool> &m_stopping;
  RetrySchedule m_schedule;
  Outbox m_outbox;
  ClaimLeases m_leases;
  EndpointQueues m_queues;
  CurlTransport m_transport;
  std::unordered_map<CurlTransport::Id, Sending> m_sending;
  std::atomic<bool> m_woken{false};

  Steady::time_point m_next_claim;
  Steady::time_point m_next_version_check;
  bool m_claiming = false; // a claim is under way on the store's thread
  bool m_more_due = false; // the last claim found deliveries

  bool m_recording = false; // attempts are being recorded
  std::vector<Outbox::Judged> m_unrecorded;

  std::atomic<bool> m_counting{false}; // the pending gauge is being read
  std::atomic<bool> m_checking{false}; // the store is being probed
  Steady::time_point m_next_gauges;
  Steady::time_point m_next_prune;
  // the store being down is said once a minute, not at every poll
  util::Throttle m_store_warnings{std::chrono::minutes(1)};
  // last, so that it is gone (its jobs run) before what they use
  StoreThread m_jobs;
};

Deliverer::Loop::Loop(WebhookStore &store, const Options &options,
                      const Publish &publish, webhook::WebhookMetrics *metrics,
                      const std::atomic<bool> &stopping)
    : m_options(options), m_publish(publish), m_metrics(metrics),
      m_stopping(stopping), m_schedule(options.schedule),
      m_outbox(store, Outbox::Options{options.lease_margin +
                                          EndpointQueues::k_lease_slack,
                                      options.disable_after}),
      m_leases(options.owner,
               [this](const std::string &owner) {
                 m_jobs.post([this, owner] { m_outbox.release(owner); });
               }),
      m_queues(options.max_in_flight,
               [this](std::uint64_t claim) { m_leases.done(claim, false); }),
      m_transport(CurlTransport::Options{options.address_policy,
                                         options.response_cap,
                                         options.response_limit},
                  [this](CurlTransport::Id id, TransferResult result) {
                    ended(id, std::move(result));
                  }),
      m_jobs([this] { m_transport.wake(); }) {}

void Deliverer::Loop::run() {
  m_next_claim = Steady::now();
  while (!m_stopping) {
    m_jobs.run_replies();
    if (m_woken.exchange(false))
      m_next_claim = Steady::now();
    if (Steady::now() >= m_next_claim)
      claim();
    const auto rate_wait = start_ready();
    if (collect() > 0)
      start_ready();
    record();
    update_gauges(false);
    prune_if_due();
    check_store();
    m_transport.poll(poll_wait(rate_wait));
  }
  drain();
}

milliseconds Deliverer::Loop::poll_wait(Steady::duration rate_wait) const {
  const auto now = Steady::now();
  auto wait = std::min<Steady::duration>(m_options.poll_interval, rate_wait);
  if (m_next_claim > now)
    wait = std::min<Steady::duration>(wait, m_next_claim - now);
  else if (!m_claiming)
    wait = Steady::duration::zero();
  return std::chrono::ceil<milliseconds>(wait);
}

void Deliverer::Loop::claim() {
  if (m_claiming)
    return; // its reply sets when to claim next
  const auto now = Steady::now();
  m_next_claim = now + m_options.poll_interval;
  // the endpoints' version is looked at when told, or once per poll
  const bool look =
      m_outbox.take_endpoints_changed() || now >= m_next_version_check;
  if (m_queues.full() && !look)
    return; // claimed again when a transfer ends
  if (look)
    m_next_version_check = now + m_options.poll_interval;
  // with no room the claim still looks whether the endpoints changed
  const auto size = m_queues.claim_size(m_options.claim_batch);
  const auto claim = m_leases.open();
  Outbox::ClaimRequest request{
      m_leases.owner(claim), size.max, size.per_endpoint, lease(),
      m_queues.version(),    look,     m_queues.ids()};
  m_claiming = true;
  m_jobs.ask(
      [this, request = std::move(request)] { return m_outbox.claim(request); },
      [this, claim, max = size.max](Outbox::Claimed answer) {
        claimed(claim, max, std::move(answer));
      });
}

void Deliverer::Loop::claimed(std::uint64_t claim, std::size_t max,
                              Outbox::Claimed answer) {
  m_claiming = false;
  const auto now = Steady::now();
  if (answer.endpoints) {
    take_endpoints(std::move(*answer.endpoints));
    m_next_claim = now; // with the room the new endpoints give
  }
  if (!answer.deliveries) {
    if (m_store_warnings.allow())
      LOG_WARN("webhook: cannot claim deliveries: ", answer.deliveries.error());
    m_leases.close(claim);
    return;
  }
  const std::size_t found = answer.deliveries->size();
  const std::size_t kept =
      hold(claim, std::move(*answer.deliveries), answer.lease_end);
  m_leases.close(claim);
  // what was put back is claimable again at once: claiming again at once
  // when all of it was would spin
  if (max > 0)
    m_more_due = kept > 0;
  if (found == max && kept > 0)
    m_next_claim = now;
}

std::size_t Deliverer::Loop::hold(std::uint64_t claim,
                                  std::vector<Delivery> deliveries,
                                  Steady::time_point lease_end) {
  std::size_t kept = 0;
  for (auto &delivery : deliveries) {
    m_leases.add(claim);
    if (m_queues.hold(Held{std::move(delivery), claim, lease_end}))
      kept++;
    else
      m_leases.done(claim, false);
  }
  return kept;
}

void Deliverer::Loop::take_endpoints(EndpointsRead read) {
  m_queues.take(read.version, std::move(read.endpoints));
  update_gauges(true);
}

milliseconds Deliverer::Loop::lease() const {
  return m_outbox.lease_for(m_queues.longest_timeout());
}

Steady::duration Deliverer::Loop::start_ready() {
  return m_queues.start_ready(Steady::now(),
                              [this](const Endpoint &endpoint, Held held) {
                                start(endpoint, std::move(held));
                              });
}

void Deliverer::Loop::start(const Endpoint &endpoint, Held held) {
  auto &delivery = held.delivery;
  const auto at = Clock::now();
  const auto id = m_transport.send(signed_post(endpoint, delivery, at));
  LOG_DEBUG("webhook: sending delivery ", delivery.id, " to endpoint ",
            endpoint.id, " (attempt ", delivery.attempts + 1, ")");
  m_sending.emplace(id, Sending{std::move(delivery), held.claim, at});
}

std::size_t Deliverer::Loop::collect() {
  const std::size_t count = m_transport.perform();
  if (count == 0)
    return 0;
  // an endpoint's share of the last claim is done: there may be more due
  if (m_more_due)
    m_next_claim = Steady::now();
  if (m_metrics)
    m_metrics->in_flight(m_transport.in_flight());
  return count;
}

void Deliverer::Loop::ended(CurlTransport::Id id, TransferResult result) {
  const auto found = m_sending.find(id);
  if (found == m_sending.end())
    return;
  Sending sending = std::move(found->second);
  m_sending.erase(found);
  auto &delivery = sending.delivery;
  m_queues.ended(delivery.endpoint_id);
  auto judged =
      judge_transfer(std::move(result), delivery.id, sending.at,
                     m_schedule.delay(delivery.attempts + 1), Clock::now());
  report(judged, delivery);
  m_unrecorded.push_back(
      Outbox::Judged{Finish{std::move(delivery), m_leases.owner(sending.claim),
                            std::move(judged.attempt), judged.outcome},
                     judged.verdict.action, sending.claim});
}

void Deliverer::Loop::report(const Judgement &judged,
                             const Delivery &delivery) {
  const auto &attempt = judged.attempt;
  if (m_metrics) {
    m_metrics->attempt(attempt_label(judged.result),
                       std::chrono::duration<double>(attempt.latency).count());
    m_metrics->delivery(judged.delivery_result);
  }
  const std::string shown =
      attempt.status != 0 ? std::to_string(attempt.status) : attempt.error;
  if (judged.outcome.state == DeliveryState::succeeded)
    LOG_DEBUG("webhook: delivery ", delivery.id, " to endpoint ",
              delivery.endpoint_id, ": ", shown, " in ",
              attempt.latency.count(), " ms");
  else
    LOG_INFO("webhook: delivery ", delivery.id, " to endpoint ",
             delivery.endpoint_id, " attempt ", delivery.attempts + 1, ": ",
             shown, ", ", judged.delivery_result,
             judged.outcome.state == DeliveryState::pending
                 ? " at " + util::utc_text(judged.outcome.retry_at)
                 : std::string());
}

void Deliverer::Loop::record() {
  if (m_recording || m_unrecorded.empty())
    return;
  m_recording = true;
  m_jobs.ask(
      [this, batch = std::move(m_unrecorded)]() mutable {
        auto answer = m_outbox.record(batch);
        return std::make_pair(std::move(batch), std::move(answer));
      },
      [this](auto answer) {
        recorded(std::move(answer.first), answer.second);
      });
  m_unrecorded.clear(); // moved from: valid but unspecified
}

void Deliverer::Loop::recorded(std::vector<Outbox::Judged> batch,
                               const Outbox::Recorded &answer) {
  m_recording = false;
  const auto &finished = answer.finished;
  if (!finished)
    LOG_WARN("webhook: cannot record the attempts of ", batch.size(),
             " deliveries: ", finished.error());
  for (std::size_t i = 0; i < batch.size(); i++) {
    if (finished && !(*finished)[i])
      LOG_WARN("webhook: delivery ", batch[i].finish.delivery.id,
               " was no longer leased to this daemon when its attempt ended");
    m_leases.done(batch[i].claim, true);
  }
  for (const auto &[endpoint, reason] : answer.disabled)
    endpoint_disabled(endpoint, reason);
  record();
}

void Deliverer::Loop::endpoint_disabled(const Endpoint &endpoint,
                                        const std::string &reason) {
  LOG_WARN("webhook: endpoint ", endpoint.id, " disabled: ", reason);
  m_queues.disable(endpoint.id);
  if (m_publish) {
    auto event = core::Event::internal("webhook.endpoint_disabled");
    event.message.set("endpoint_id", endpoint.id);
    event.message.set("url", endpoint.url);
    event.message.set("reason", reason);
    m_publish(std::move(event));
  }
  update_gauges(true);
}

void Deliverer::Loop::drain() {
  m_queues.put_back_all();
  finish_in_flight();
  // what the store's thread still has to do, and the replies that follow
  // (a claim's deliveries put back, attempts recorded, leases given back)
  do {
    m_queues.put_back_all();
    record();
    m_jobs.wait_idle();
  } while (m_jobs.run_replies() || !m_unrecorded.empty());
  for (const auto &owner : m_leases.take_open())
    m_outbox.release(owner);
  if (m_metrics)
    m_metrics->in_flight(0);
}

void Deliverer::Loop::finish_in_flight() {
  const auto deadline = Steady::now() + m_options.stop_wait;
  while (m_transport.in_flight() > 0 && Steady::now() < deadline) {
    m_transport.perform();
    const auto left = std::chrono::ceil<milliseconds>(deadline - Steady::now());
    if (m_transport.in_flight() > 0 && left.count() > 0)
      m_transport.poll(std::min(left, milliseconds(100)));
  }
  if (m_transport.in_flight() == 0)
    return;
  LOG_INFO("webhook: ", m_transport.in_flight(),
           " deliveries still in flight at stop, to be retried");
  m_transport.abort();
  for (const auto &[id, sending] : m_sending)
    m_queues.ended(sending.delivery.endpoint_id);
  m_sending.clear();
}

void Deliverer::Loop::prune_if_due() {
  const auto now = Steady::now();
  if (m_options.retention.count() == 0 || now < m_next_prune)
    return;
  m_next_prune = now + k_prune_interval;
  m_jobs.post([this, before = Clock::now() - m_options.retention] {
    m_outbox.prune(before);
  });
}

void Deliverer::Loop::check_store() {
  if (m_outbox.store_ok() || m_checking.exchange(true))
    return;
  m_jobs.post([this] {
    m_outbox.check_store();
    m_checking = false;
  });
}

void Deliverer::Loop::update_gauges(bool force) {
  if (!m_metrics)
    return;
  const auto now = Steady::now();
  if (!force && now < m_next_gauges)
    return;
  m_next_gauges = now + k_gauge_interval;
  const std::size_t enabled = m_queues.enabled();
  m_metrics->endpoints(enabled, m_queues.size() - enabled);
  m_metrics->in_flight(m_transport.in_flight());
  if (m_counting.exchange(true))
    return;
  m_jobs.post([this] {
    if (const auto pending = m_outbox.pending())
      m_metrics->pending(*pending);
    m_counting = false;
  });
}

Deliverer::Deliverer(WebhookStore &store, Options options, Publish publish,
                     webhook::WebhookMetrics *metrics)
    : m_store(store), m_options(std::move(options)),
      m_publish(std::move(publish)), m_metrics(metrics) {
  m_loop = std::make_unique<Loop>(m_store, m_options, m_publish, m_metrics,
                                  m_stopping);
}

Deliverer::~Deliverer() { stop(); }

void Deliverer::start() {
  if (m_thread.joinable())
    return;
  m_stopping = false;
  m_thread = std::thread([this] { m_loop->run(); });
}

void Deliverer::stop() {
  if (!m_thread.joinable())
    return;
  m_stopping = true;
  m_loop->wake();
  m_thread.join();
}

void Deliverer::wake() { m_loop->wake(); }

void Deliverer::endpoints_changed() { m_loop->endpoints_changed(); }

} // namespace dovewarden::webhook
