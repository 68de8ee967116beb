#include "webhook/Deliverer.hpp"

#include "dovewarden-config.h"
#include "metrics/WebhookMetrics.hpp"
#include "util/Curl.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"
#include "util/Throttle.hpp"
#include "webhook/RateLimiter.hpp"
#include "webhook/Signature.hpp"
#include "webhook/Verdict.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <deque>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dovewarden::webhook {

namespace {

using util::Curl;
using util::CurlList;
using util::CurlMulti;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// a request is only started if it ends (timeout) this long before its lease
constexpr milliseconds k_lease_slack{5000};
constexpr milliseconds k_gauge_interval{1000};
constexpr auto k_prune_interval = std::chrono::hours(1);

std::string unix_seconds(TimePoint at) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch())
          .count());
}

std::string utc_text(TimePoint at) {
  const std::time_t seconds = Clock::to_time_t(at);
  std::tm fields{};
  ::gmtime_r(&seconds, &fields);
  std::ostringstream out;
  out << std::put_time(&fields, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b));
                    });
}

// One request in flight. Heap-allocated, so that the pointers libcurl keeps
// into it (body, buffers) stay put.
struct Transfer {
  Delivery delivery;
  std::uint64_t generation = 0; // of the claim that leased it
  std::string endpoint_id;
  Curl handle{nullptr, &curl_easy_cleanup};
  CurlList headers{nullptr, &curl_slist_free_all};
  std::size_t response_cap = 0;
  std::size_t response_limit = 0;
  std::string response;
  std::size_t received = 0;
  bool too_large = false;
  std::string retry_after;
  GuardState guard; // what the SSRF guard refused, if anything
  char error[CURL_ERROR_SIZE] = {};
  TimePoint at;
  Steady::time_point started;
};

std::size_t on_body(char *data, std::size_t size, std::size_t count,
                    void *user) {
  auto &transfer = *static_cast<Transfer *>(user);
  const std::size_t bytes = size * count;
  transfer.received += bytes;
  if (transfer.response.size() < transfer.response_cap)
    transfer.response.append(
        data,
        std::min(bytes, transfer.response_cap - transfer.response.size()));
  if (transfer.received > transfer.response_limit) {
    transfer.too_large = true;
    return 0;
  }
  return bytes;
}

std::size_t on_header(char *data, std::size_t size, std::size_t count,
                      void *user) {
  auto &transfer = *static_cast<Transfer *>(user);
  const std::string_view line(data, size * count);
  // a new status line (after 100 Continue) starts a new set of headers
  if (starts_with_nocase(line, "HTTP/")) {
    transfer.retry_after.clear();
  } else if (starts_with_nocase(line, "retry-after:")) {
    auto value = line.substr(12);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
      value.remove_suffix(1);
    transfer.retry_after = std::string(value);
  }
  return size * count;
}

// A delivery claimed and waiting for its endpoint (concurrency, rate).
struct Held {
  Delivery delivery;
  std::uint64_t generation = 0;
  Steady::time_point claimed;
};

struct EndpointQueue {
  std::deque<Held> held;
  std::size_t in_flight = 0;
};

} // namespace

class Deliverer::Loop {
public:
  Loop(WebhookStore &store, const Options &options, const Publish &publish,
       metrics::WebhookMetrics *metrics, const std::atomic<bool> &stopping)
      : m_store(store), m_options(options), m_publish(publish),
        m_metrics(metrics), m_stopping(stopping), m_schedule(options.schedule) {
    util::init_curl();
    m_multi.reset(curl_multi_init());
    if (!m_multi)
      throw util::Fatal("curl_multi_init() failed");
  }

  bool store_ok() const { return m_store_ok; }
  void wake() {
    m_woken = true;
    curl_multi_wakeup(m_multi.get());
  }

  void run();

private:
  // Reloads the endpoints if they changed (or if forced).
  void refresh_endpoints(bool force);
  void claim();
  // Keeps delivery for its endpoint (until it may start), or not.
  // Returns false if it put it back.
  bool hold(Delivery delivery, std::uint64_t generation,
            Steady::time_point claimed);
  // Returns the owner of the leases of a claim.
  std::string owner(std::uint64_t generation) const;
  // A delivery of generation is done with (finished, or put back if not
  // sent); once all are, what was put back is given back to the store.
  void done(std::uint64_t generation, bool sent);
  void settle(std::uint64_t generation);
  void put_back_held(EndpointQueue &queue);
  // Starts what the endpoints' concurrency and rate limits allow. Returns
  // how long until a held delivery may start (max if none waits for that).
  Steady::duration start_ready();
  void start(const Endpoint &endpoint, Held held);
  // Takes the finished transfers from libcurl and records them. Returns how
  // many.
  std::size_t collect();
  // Records the attempts of transfers in one store call, then what follows.
  void finish(std::vector<std::pair<std::unique_ptr<Transfer>, CURLcode>> ended);
  void disable(const std::string &endpoint_id, const std::string &reason);
  void drain();
  void update_gauges(bool force);
  // Deletes finished deliveries older than the retention, once an hour.
  void prune_if_due();
  milliseconds lease() const;
  bool lease_left(const Held &held, const Endpoint &endpoint,
                  Steady::time_point now) const;
  std::size_t held_count() const;

  WebhookStore &m_store;
  const Options &m_options;
  const Publish &m_publish;
  metrics::WebhookMetrics *m_metrics;
  const std::atomic<bool> &m_stopping;
  RetrySchedule m_schedule;
  CurlMulti m_multi{nullptr, &curl_multi_cleanup};
  std::atomic<bool> m_woken{false};
  std::atomic<bool> m_store_ok{true}; // the last claim reached the store

  std::unordered_map<std::string, Endpoint> m_endpoints;
  std::optional<std::uint64_t> m_version;
  std::unordered_map<std::string, EndpointQueue> m_queues;
  std::unordered_map<CURL *, std::unique_ptr<Transfer>> m_transfers;
  RateLimiter m_limiter;
  Steady::time_point m_next_claim;
  bool m_more_due = false; // the last claim found deliveries
  // Each claim leases under an owner of its own (owner#generation), so that
  // what is not sent (endpoint busy or disabled) can be given back with
  // release_owner() as soon as the rest of its claim is finished.
  struct Generation {
    std::size_t live = 0; // held or in flight
    bool put_back = false;
  };
  std::uint64_t m_generation = 0;
  std::map<std::uint64_t, Generation> m_generations;
  Steady::time_point m_next_gauges;
  Steady::time_point m_next_prune;
  // the store being down is said once a minute, not at every poll
  util::Throttle m_store_warnings{std::chrono::minutes(1)};
};

void Deliverer::Loop::run() {
  m_next_claim = Steady::now();
  while (!m_stopping) {
    if (m_woken.exchange(false))
      m_next_claim = Steady::now();
    if (Steady::now() >= m_next_claim)
      claim();
    const auto rate_wait = start_ready();
    int running = 0;
    curl_multi_perform(m_multi.get(), &running);
    if (collect() > 0)
      start_ready();
    update_gauges(false);
    prune_if_due();

    const auto now = Steady::now();
    auto wait = std::min<Steady::duration>(m_options.poll_interval, rate_wait);
    if (m_next_claim > now)
      wait = std::min<Steady::duration>(wait, m_next_claim - now);
    else if (held_count() + m_transfers.size() < m_options.max_in_flight)
      wait = Steady::duration::zero();
    const auto wait_ms = std::chrono::ceil<milliseconds>(wait).count();
    curl_multi_poll(m_multi.get(), nullptr, 0, static_cast<int>(wait_ms),
                    nullptr);
  }
  drain();
}

void Deliverer::Loop::refresh_endpoints(bool force) {
  const auto version = m_store.endpoints_version();
  if (!version) {
    if (m_store_warnings.allow())
      LOG_WARN("webhook: cannot read the endpoints' version: ",
               version.error());
    return;
  }
  if (!force && m_version && *m_version == *version)
    return;
  auto endpoints = m_store.endpoints();
  if (!endpoints) {
    if (m_store_warnings.allow())
      LOG_WARN("webhook: cannot read the endpoints: ", endpoints.error());
    return;
  }
  m_endpoints.clear();
  for (auto &endpoint : *endpoints)
    m_endpoints.emplace(endpoint.id, std::move(endpoint));
  for (auto it = m_queues.begin(); it != m_queues.end();) {
    const auto found = m_endpoints.find(it->first);
    if (found == m_endpoints.end() || !found->second.enabled)
      put_back_held(it->second);
    if (it->second.held.empty() && it->second.in_flight == 0) {
      m_limiter.forget(it->first);
      it = m_queues.erase(it);
    } else {
      ++it;
    }
  }
  m_version = *version;
  update_gauges(true);
}

milliseconds Deliverer::Loop::lease() const {
  milliseconds longest{0};
  for (const auto &[id, endpoint] : m_endpoints)
    longest = std::max(longest, endpoint.timeout);
  return longest + m_options.lease_margin + k_lease_slack;
}

bool Deliverer::Loop::lease_left(const Held &held, const Endpoint &endpoint,
                                 Steady::time_point now) const {
  return now - held.claimed + endpoint.timeout + k_lease_slack < lease();
}

std::size_t Deliverer::Loop::held_count() const {
  std::size_t count = 0;
  for (const auto &[id, queue] : m_queues)
    count += queue.held.size();
  return count;
}

void Deliverer::Loop::claim() {
  refresh_endpoints(false);
  const std::size_t busy = held_count() + m_transfers.size();
  const std::size_t room =
      busy < m_options.max_in_flight ? m_options.max_in_flight - busy : 0;
  const std::size_t max = std::min(room, m_options.claim_batch);
  const auto now = Steady::now();
  if (max == 0) {
    // claimed again when a transfer ends
    m_next_claim = now + m_options.poll_interval;
    return;
  }
  // no endpoint takes more than its share of one claim, so that a busy one
  // does not crowd out the others
  std::size_t per_endpoint = 1;
  for (const auto &[id, endpoint] : m_endpoints)
    per_endpoint = std::max<std::size_t>(per_endpoint, endpoint.concurrency);
  const auto generation = ++m_generation;
  auto claimed = m_store.claim(owner(generation), Clock::now(), lease(), max,
                               std::min(per_endpoint, max));
  m_store_ok = claimed.has_value();
  if (!claimed) {
    if (m_store_warnings.allow())
      LOG_WARN("webhook: cannot claim deliveries: ", claimed.error());
    m_next_claim = now + m_options.poll_interval;
    return;
  }
  const std::size_t found = claimed->size();
  std::size_t kept = 0;
  m_generations[generation];
  for (auto &delivery : *claimed) {
    if (hold(std::move(delivery), generation, now))
      kept++;
    else
      m_generations[generation].put_back = true;
  }
  settle(generation);
  // what was put back is claimable again at once: claiming again at once
  // when all of it was would spin
  m_more_due = kept > 0;
  m_next_claim = found < max || kept == 0 ? now + m_options.poll_interval : now;
}

std::string Deliverer::Loop::owner(std::uint64_t generation) const {
  return m_options.owner + "#" + std::to_string(generation);
}

void Deliverer::Loop::done(std::uint64_t generation, bool sent) {
  auto &state = m_generations[generation];
  if (state.live > 0)
    state.live--;
  state.put_back = state.put_back || !sent;
  settle(generation);
}

void Deliverer::Loop::settle(std::uint64_t generation) {
  const auto found = m_generations.find(generation);
  if (found == m_generations.end() || found->second.live > 0)
    return;
  if (found->second.put_back) {
    const auto released = m_store.release_owner(owner(generation));
    if (!released)
      LOG_WARN("webhook: cannot give back leases: ", released.error());
  }
  m_generations.erase(found);
}

void Deliverer::Loop::put_back_held(EndpointQueue &queue) {
  while (!queue.held.empty()) {
    const auto generation = queue.held.front().generation;
    queue.held.pop_front();
    done(generation, false);
  }
}

bool Deliverer::Loop::hold(Delivery delivery, std::uint64_t generation,
                           Steady::time_point claimed) {
  auto found = m_endpoints.find(delivery.endpoint_id);
  if (found == m_endpoints.end()) {
    refresh_endpoints(true);
    found = m_endpoints.find(delivery.endpoint_id);
  }
  if (found == m_endpoints.end()) {
    LOG_DEBUG("webhook: delivery ", delivery.id, " for unknown endpoint ",
              delivery.endpoint_id, " left alone");
    return false;
  }
  if (!found->second.enabled) {
    LOG_DEBUG("webhook: delivery ", delivery.id, " waits for endpoint ",
              delivery.endpoint_id, " to be enabled");
    return false;
  }
  auto &queue = m_queues[delivery.endpoint_id];
  if (queue.held.size() >= std::max(1u, found->second.concurrency)) {
    LOG_DEBUG("webhook: endpoint ", delivery.endpoint_id, " busy, delivery ",
              delivery.id, " put back");
    return false;
  }
  m_generations[generation].live++;
  queue.held.push_back(Held{std::move(delivery), generation, claimed});
  return true;
}

Steady::duration Deliverer::Loop::start_ready() {
  auto wait = Steady::duration::max();
  const auto now = Steady::now();
  for (auto &[id, queue] : m_queues) {
    const auto found = m_endpoints.find(id);
    if (found == m_endpoints.end())
      continue;
    const Endpoint &endpoint = found->second;
    while (!queue.held.empty() &&
           queue.in_flight < std::max(1u, endpoint.concurrency) &&
           m_transfers.size() < m_options.max_in_flight) {
      if (!lease_left(queue.held.front(), endpoint, now)) {
        LOG_DEBUG("webhook: delivery ", queue.held.front().delivery.id,
                  " waited too long for its endpoint, put back");
        const auto generation = queue.held.front().generation;
        queue.held.pop_front();
        done(generation, false);
        continue;
      }
      if (!m_limiter.try_acquire(id, endpoint.rate_limit, now)) {
        wait = std::min(wait, m_limiter.wait(id, endpoint.rate_limit, now));
        break;
      }
      auto held = std::move(queue.held.front());
      queue.held.pop_front();
      start(endpoint, std::move(held));
    }
  }
  return wait;
}

void Deliverer::Loop::start(const Endpoint &endpoint, Held held) {
  auto transfer = std::make_unique<Transfer>();
  transfer->delivery = std::move(held.delivery);
  transfer->generation = held.generation;
  transfer->endpoint_id = endpoint.id;
  transfer->response_cap = m_options.response_cap;
  transfer->response_limit =
      std::max(m_options.response_limit, m_options.response_cap);
  transfer->at = Clock::now();
  transfer->started = Steady::now();
  transfer->handle.reset(curl_easy_init());
  if (!transfer->handle)
    throw util::Fatal("curl_easy_init() failed");

  const auto &body = transfer->delivery.body;
  const std::string timestamp = unix_seconds(transfer->at);
  const bool headers_ok =
      util::add_header(transfer->headers,
                       "webhook-id: " + transfer->delivery.id) &&
      util::add_header(transfer->headers, "webhook-timestamp: " + timestamp) &&
      util::add_header(transfer->headers,
                       "webhook-signature: " +
                           signature_header(endpoint.secrets, transfer->at,
                                            transfer->delivery.id, timestamp,
                                            body)) &&
      util::add_header(transfer->headers, "Content-Type: application/json") &&
      util::add_header(transfer->headers, "Expect:");
  if (!headers_ok)
    throw util::Fatal("curl_slist_append() failed");

  CURL *handle = transfer->handle.get();
  curl_easy_setopt(handle, CURLOPT_URL, endpoint.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, transfer->headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "dovewarden/" PACKAGE_VERSION);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(endpoint.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, transfer->error);
  guard(handle, m_options.address_policy, transfer->guard);

  if (curl_multi_add_handle(m_multi.get(), handle) != CURLM_OK)
    throw util::Fatal("curl_multi_add_handle() failed");
  m_queues[endpoint.id].in_flight++;
  LOG_DEBUG("webhook: sending delivery ", transfer->delivery.id,
            " to endpoint ", endpoint.id, " (attempt ",
            transfer->delivery.attempts + 1, ")");
  m_transfers.emplace(handle, std::move(transfer));
}

std::size_t Deliverer::Loop::collect() {
  std::vector<std::pair<std::unique_ptr<Transfer>, CURLcode>> ended;
  int left = 0;
  while (CURLMsg *message = curl_multi_info_read(m_multi.get(), &left)) {
    if (message->msg != CURLMSG_DONE)
      continue;
    CURL *handle = message->easy_handle;
    const CURLcode code = message->data.result;
    curl_multi_remove_handle(m_multi.get(), handle);
    auto found = m_transfers.find(handle);
    if (found == m_transfers.end())
      continue;
    ended.emplace_back(std::move(found->second), code);
    m_transfers.erase(found);
  }
  const std::size_t count = ended.size();
  if (count > 0)
    finish(std::move(ended));
  // an endpoint's share of the last claim is done: there may be more due
  if (count > 0 && m_more_due)
    m_next_claim = Steady::now();
  if (count > 0 && m_metrics)
    m_metrics->in_flight(m_transfers.size());
  return count;
}

void Deliverer::Loop::finish(
    std::vector<std::pair<std::unique_ptr<Transfer>, CURLcode>> ended) {
  struct Judged {
    std::unique_ptr<Transfer> transfer;
    AttemptResult result;
    Verdict verdict;
  };
  std::vector<Judged> judged;
  std::vector<Finish> finishes;
  judged.reserve(ended.size());
  finishes.reserve(ended.size());
  for (auto &[transfer, code] : ended) {
    const auto latency = std::chrono::duration_cast<milliseconds>(
        Steady::now() - transfer->started);
    auto queue = m_queues.find(transfer->endpoint_id);
    if (queue != m_queues.end() && queue->second.in_flight > 0)
      queue->second.in_flight--;

    AttemptResult result;
    Attempt attempt;
    attempt.delivery_id = transfer->delivery.id;
    attempt.at = transfer->at;
    attempt.latency = latency;
    attempt.response = std::move(transfer->response);
    long status = 0;
    curl_easy_getinfo(transfer->handle.get(), CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK ||
        (code == CURLE_WRITE_ERROR && transfer->too_large && status != 0)) {
      result.status = static_cast<int>(status);
      result.retry_after = std::move(transfer->retry_after);
      attempt.status = result.status;
      if (code != CURLE_OK)
        attempt.error = "response cut off after " +
                        std::to_string(transfer->response_limit) + " bytes";
    } else if (!transfer->guard.refusal.empty()) {
      result.failure = AttemptResult::Failure::refused;
      attempt.error = "refused: " + transfer->guard.refusal;
    } else {
      result.failure = code == CURLE_OPERATION_TIMEDOUT
                           ? AttemptResult::Failure::timeout
                           : AttemptResult::Failure::error;
      attempt.error = transfer->error[0] != '\0' ? transfer->error
                                                 : curl_easy_strerror(code);
    }
    const auto now = Clock::now();
    const auto verdict = judge(result, now);
    const auto after =
        outcome(verdict, transfer->delivery.attempts + 1, m_schedule, now);
    // the body is not needed any more: the store reads id and endpoint
    Delivery delivery = transfer->delivery;
    delivery.body.clear();
    finishes.push_back(Finish{std::move(delivery), owner(transfer->generation),
                              std::move(attempt), after});
    judged.push_back(Judged{std::move(transfer), std::move(result), verdict});
  }

  const auto finished = m_store.finish_all(finishes);
  if (!finished)
    LOG_WARN("webhook: cannot record the attempts of ", finishes.size(),
             " deliveries: ", finished.error());

  for (std::size_t i = 0; i < judged.size(); i++) {
    auto &transfer = judged[i].transfer;
    const auto &result = judged[i].result;
    const auto &verdict = judged[i].verdict;
    const auto &attempt = finishes[i].attempt;
    const auto &after = finishes[i].outcome;
    const auto &delivery = transfer->delivery;
    done(transfer->generation, true);
    if (finished && !(*finished)[i])
      LOG_WARN("webhook: delivery ", delivery.id,
               " was no longer leased to this daemon when its attempt ended");

    const char *what = verdict.action == Verdict::Action::disable ? "disabled"
                       : after.state == DeliveryState::succeeded  ? "succeeded"
                       : after.state == DeliveryState::failed     ? "failed"
                                                                  : "retried";
    if (m_metrics) {
      m_metrics->attempt(attempt_label(result),
                         std::chrono::duration<double>(attempt.latency).count());
      m_metrics->delivery(what);
    }
    const std::string shown =
        attempt.status != 0 ? std::to_string(attempt.status) : attempt.error;
    if (after.state == DeliveryState::succeeded)
      LOG_DEBUG("webhook: delivery ", delivery.id, " to endpoint ",
                transfer->endpoint_id, ": ", shown, " in ",
                attempt.latency.count(), " ms");
    else
      LOG_INFO("webhook: delivery ", delivery.id, " to endpoint ",
               transfer->endpoint_id, " attempt ", delivery.attempts + 1, ": ",
               shown, ", ", what,
               after.state == DeliveryState::pending
                   ? " at " + utc_text(after.retry_at)
                   : std::string());

    if (verdict.action == Verdict::Action::disable) {
      disable(transfer->endpoint_id, "410 Gone");
    } else if (verdict.action == Verdict::Action::retry &&
               m_options.disable_after.count() > 0) {
      const auto endpoint = m_store.endpoint(transfer->endpoint_id);
      if (endpoint && *endpoint && (*endpoint)->enabled &&
          failing_too_long(**endpoint, Clock::now(),
                           m_options.disable_after))
        disable(transfer->endpoint_id,
                "failing since " + utc_text((*endpoint)->failing_since));
    }
  }
}

void Deliverer::Loop::disable(const std::string &endpoint_id,
                              const std::string &reason) {
  auto stored = m_store.endpoint(endpoint_id);
  if (!stored || !*stored) {
    if (!stored)
      LOG_WARN("webhook: cannot read endpoint ", endpoint_id, ": ",
               stored.error());
    return;
  }
  Endpoint endpoint = std::move(**stored);
  if (!endpoint.enabled)
    return;
  endpoint.enabled = false;
  endpoint.disabled_reason = reason;
  endpoint.updated = Clock::now();
  const auto put = m_store.put_endpoint(endpoint, true);
  if (!put) {
    LOG_WARN("webhook: cannot disable endpoint ", endpoint_id, ": ",
             put.error());
    return;
  }
  LOG_WARN("webhook: endpoint ", endpoint_id, " disabled: ", reason);
  const auto cached = m_endpoints.find(endpoint_id);
  if (cached != m_endpoints.end())
    cached->second.enabled = false;
  const auto queue = m_queues.find(endpoint_id);
  if (queue != m_queues.end())
    put_back_held(queue->second);
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
  for (auto &[id, queue] : m_queues)
    put_back_held(queue);
  const auto deadline = Steady::now() + m_options.stop_wait;
  while (!m_transfers.empty() && Steady::now() < deadline) {
    int running = 0;
    curl_multi_perform(m_multi.get(), &running);
    collect();
    const auto left = std::chrono::ceil<milliseconds>(deadline - Steady::now());
    if (!m_transfers.empty() && left.count() > 0)
      curl_multi_poll(
          m_multi.get(), nullptr, 0,
          static_cast<int>(std::min<milliseconds::rep>(left.count(), 100)),
          nullptr);
  }
  if (!m_transfers.empty())
    LOG_INFO("webhook: ", m_transfers.size(),
             " deliveries still in flight at stop, to be retried");
  for (auto &[handle, transfer] : m_transfers)
    curl_multi_remove_handle(m_multi.get(), handle);
  m_transfers.clear();
  for (const auto &[generation, state] : m_generations) {
    const auto released = m_store.release_owner(owner(generation));
    if (!released)
      LOG_WARN("webhook: cannot give back leases: ", released.error());
  }
  m_generations.clear();
  if (m_metrics)
    m_metrics->in_flight(0);
}

void Deliverer::Loop::prune_if_due() {
  const auto now = Steady::now();
  if (m_options.retention.count() == 0 || now < m_next_prune)
    return;
  m_next_prune = now + k_prune_interval;
  const auto pruned = m_store.prune(Clock::now() - m_options.retention);
  if (!pruned)
    LOG_WARN("webhooks: pruning the delivery log failed: ", pruned.error());
  else if (*pruned > 0)
    LOG_DEBUG("webhooks: pruned ", *pruned, " finished deliveries");
}

void Deliverer::Loop::update_gauges(bool force) {
  if (!m_metrics)
    return;
  const auto now = Steady::now();
  if (!force && now < m_next_gauges)
    return;
  m_next_gauges = now + k_gauge_interval;
  std::size_t enabled = 0;
  for (const auto &[id, endpoint] : m_endpoints)
    enabled += endpoint.enabled ? 1 : 0;
  m_metrics->endpoints(enabled, m_endpoints.size() - enabled);
  m_metrics->in_flight(m_transfers.size());
  if (const auto pending = m_store.pending())
    m_metrics->pending(*pending);
}

Deliverer::Deliverer(WebhookStore &store, Options options, Publish publish,
                     metrics::WebhookMetrics *metrics)
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

bool Deliverer::store_ok() const { return m_loop->store_ok(); }

} // namespace dovewarden::webhook
