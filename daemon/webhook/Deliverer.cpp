#include "webhook/Deliverer.hpp"

#include "dovewarden-config.h"
#include "webhook/WebhookMetrics.hpp"
#include "util/Curl.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"
#include "util/SerialExecutor.hpp"
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
#include <optional>
#include <set>
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
// an endpoint's deliveries are claimed this many rounds (of its
// concurrency) ahead, so that claims keep up while requests are out
constexpr std::size_t k_rounds_held = 2;
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
  Steady::time_point lease_end; // of the lease its claim was granted
};

struct EndpointQueue {
  std::deque<Held> held;
  std::size_t in_flight = 0;
};

// An attempt judged, waiting to be recorded in the store.
struct Judged {
  Finish finish;
  std::uint64_t generation = 0;
  std::string endpoint_id;
  Verdict verdict;
};

// The endpoints as the store has them, read when their version changed.
struct EndpointsRead {
  std::uint64_t version = 0;
  std::vector<Endpoint> endpoints;
};

} // namespace

// Two threads share the work: the loop's own runs libcurl and keeps the
// endpoints' queues; every store call of the steady flow (claims, attempts
// recorded, leases given back, gauges, pruning) runs on a SerialExecutor in
// the order posted, and its answer comes back as a reply the loop runs. So
// requests go out while the last round's attempts are written and the next
// round is claimed.
class Deliverer::Loop {
public:
  Loop(WebhookStore &store, const Options &options, const Publish &publish,
       webhook::WebhookMetrics *metrics, const std::atomic<bool> &stopping)
      : m_store(store), m_options(options), m_publish(publish),
        m_metrics(metrics), m_stopping(stopping), m_schedule(options.schedule) {
    util::init_curl();
    m_multi.reset(curl_multi_init());
    if (!m_multi)
      throw util::Fatal("curl_multi_init() failed");
    m_store_jobs = std::make_unique<util::SerialExecutor>();
  }

  bool store_ok() const { return m_store_ok; }
  void wake() {
    m_woken = true;
    curl_multi_wakeup(m_multi.get());
  }
  void endpoints_changed() {
    m_endpoints_changed = true;
    wake();
  }

  void run();

private:
  using Reply = std::function<void()>;

  // Runs job on the store's thread.
  void post(util::SerialExecutor::Job job) {
    m_store_jobs->post(std::move(job));
  }
  // From the store's thread: has the loop run reply.
  void reply(Reply reply);
  // Runs the replies that came. Returns false if there were none.
  bool run_replies();

  // Reads the endpoints now and takes them.
  void refresh_endpoints();
  void take_endpoints(EndpointsRead read);
  // Asks the store for due deliveries, unless a claim is under way.
  void claim();
  void claimed(std::uint64_t generation, std::size_t max,
               std::optional<EndpointsRead> endpoints,
               WebhookStore::Result<std::vector<Delivery>> deliveries,
               Steady::time_point lease_end);
  // Keeps delivery for its endpoint (until it may start), or not.
  // Returns false if it put it back.
  bool hold(Delivery delivery, std::uint64_t generation,
            Steady::time_point lease_end);
  // Returns the owner of the leases of a claim.
  std::string owner(std::uint64_t generation) const;
  // A delivery of generation is done with (recorded, or put back if not
  // sent); once all are, what was put back is given back to the store.
  void done(std::uint64_t generation, bool sent);
  void settle(std::uint64_t generation);
  void put_back_held(EndpointQueue &queue);
  // Starts what the endpoints' concurrency and rate limits allow. Returns
  // how long until a held delivery may start (max if none waits for that).
  Steady::duration start_ready();
  void start(const Endpoint &endpoint, Held held);
  // Takes the finished transfers from libcurl and judges them. Returns how
  // many.
  std::size_t collect();
  void judge_ended(
      std::vector<std::pair<std::unique_ptr<Transfer>, CURLcode>> ended);
  // Has the attempts judged so far recorded in one store call, unless one
  // is under way.
  void record();
  void recorded(std::vector<Judged> batch,
                WebhookStore::Result<std::vector<bool>> finished,
                std::vector<std::pair<Endpoint, std::string>> disabled);
  // On the store's thread: disables the endpoint in the store. Returns it
  // if this call disabled it.
  std::optional<Endpoint> disable_in_store(const std::string &endpoint_id,
                                           const std::string &reason);
  // The loop's side of an endpoint disabled: held deliveries put back,
  // webhook.endpoint_disabled published.
  void endpoint_disabled(const Endpoint &endpoint, const std::string &reason);
  void drain();
  void update_gauges(bool force);
  // Deletes finished deliveries older than the retention, once an hour.
  void prune_if_due();
  // Returns the lease a claim asks for: the longest endpoint timeout and
  // the margins.
  milliseconds lease() const;
  milliseconds lease_for(milliseconds longest_timeout) const;
  bool lease_left(const Held &held, const Endpoint &endpoint,
                  Steady::time_point now) const;
  std::size_t held_count() const;
  // Returns how many deliveries an endpoint may have claimed and waiting.
  std::size_t held_limit(const Endpoint &endpoint) const;

  WebhookStore &m_store;
  const Options &m_options;
  const Publish &m_publish;
  webhook::WebhookMetrics *m_metrics;
  const std::atomic<bool> &m_stopping;
  RetrySchedule m_schedule;
  CurlMulti m_multi{nullptr, &curl_multi_cleanup};
  std::atomic<bool> m_woken{false};
  std::atomic<bool> m_endpoints_changed{true};
  Steady::time_point m_next_version_check;
  std::atomic<bool> m_store_ok{true}; // the last claim reached the store

  std::mutex m_replies_mutex;
  std::vector<Reply> m_replies;

  std::unordered_map<std::string, Endpoint> m_endpoints;
  std::optional<std::uint64_t> m_version;
  std::unordered_map<std::string, EndpointQueue> m_queues;
  std::unordered_map<CURL *, std::unique_ptr<Transfer>> m_transfers;
  RateLimiter m_limiter;
  Steady::time_point m_next_claim;
  bool m_claiming = false;  // a claim is under way on the store's thread
  bool m_more_due = false;  // the last claim found deliveries
  bool m_recording = false; // attempts are being recorded
  std::vector<Judged> m_unrecorded;
  std::atomic<bool> m_counting{false}; // the pending gauge is being read
  // Each claim leases under an owner of its own (owner#generation), so that
  // what is not sent (endpoint busy or disabled) can be given back with
  // release_owner() as soon as the rest of its claim is recorded.
  struct Generation {
    std::size_t live = 0; // held, in flight or being recorded
    bool put_back = false;
  };
  std::uint64_t m_generation = 0;
  std::map<std::uint64_t, Generation> m_generations;
  Steady::time_point m_next_gauges;
  Steady::time_point m_next_prune;
  // the store being down is said once a minute, not at every poll; one
  // throttle per thread
  util::Throttle m_store_warnings{std::chrono::minutes(1)};
  util::Throttle m_store_job_warnings{std::chrono::minutes(1)};
  // last, so that it is gone (its jobs run) before what they use
  std::unique_ptr<util::SerialExecutor> m_store_jobs;
};

void Deliverer::Loop::reply(Reply reply) {
  {
    const std::lock_guard lock(m_replies_mutex);
    m_replies.push_back(std::move(reply));
  }
  curl_multi_wakeup(m_multi.get());
}

bool Deliverer::Loop::run_replies() {
  std::vector<Reply> replies;
  {
    const std::lock_guard lock(m_replies_mutex);
    replies.swap(m_replies);
  }
  for (auto &reply : replies)
    reply();
  return !replies.empty();
}

void Deliverer::Loop::run() {
  m_next_claim = Steady::now();
  while (!m_stopping) {
    run_replies();
    if (m_woken.exchange(false))
      m_next_claim = Steady::now();
    if (Steady::now() >= m_next_claim)
      claim();
    const auto rate_wait = start_ready();
    int running = 0;
    curl_multi_perform(m_multi.get(), &running);
    if (collect() > 0)
      start_ready();
    record();
    update_gauges(false);
    prune_if_due();

    const auto now = Steady::now();
    auto wait = std::min<Steady::duration>(m_options.poll_interval, rate_wait);
    if (m_next_claim > now)
      wait = std::min<Steady::duration>(wait, m_next_claim - now);
    else if (!m_claiming)
      wait = Steady::duration::zero();
    const auto wait_ms = std::chrono::ceil<milliseconds>(wait).count();
    curl_multi_poll(m_multi.get(), nullptr, 0, static_cast<int>(wait_ms),
                    nullptr);
  }
  drain();
}

void Deliverer::Loop::refresh_endpoints() {
  const auto version = m_store.endpoints_version();
  auto endpoints = m_store.endpoints();
  if (!version || !endpoints) {
    if (m_store_warnings.allow())
      LOG_WARN("webhook: cannot read the endpoints: ",
               version ? endpoints.error() : version.error());
    return;
  }
  take_endpoints(EndpointsRead{*version, std::move(*endpoints)});
}

void Deliverer::Loop::take_endpoints(EndpointsRead read) {
  m_endpoints.clear();
  for (auto &endpoint : read.endpoints)
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
  m_version = read.version;
  update_gauges(true);
}

milliseconds Deliverer::Loop::lease() const {
  milliseconds longest{0};
  for (const auto &[id, endpoint] : m_endpoints)
    longest = std::max(longest, endpoint.timeout);
  return lease_for(longest);
}

milliseconds Deliverer::Loop::lease_for(milliseconds longest_timeout) const {
  return longest_timeout + m_options.lease_margin + k_lease_slack;
}

bool Deliverer::Loop::lease_left(const Held &held, const Endpoint &endpoint,
                                 Steady::time_point now) const {
  return now + endpoint.timeout + k_lease_slack < held.lease_end;
}

std::size_t Deliverer::Loop::held_count() const {
  std::size_t count = 0;
  for (const auto &[id, queue] : m_queues)
    count += queue.held.size();
  return count;
}

void Deliverer::Loop::claim() {
  if (m_claiming)
    return; // its reply sets when to claim next
  const auto now = Steady::now();
  m_next_claim = now + m_options.poll_interval;
  // up to a round held ready beside the one in flight, so that a claim
  // overlaps the requests
  const std::size_t window = (1 + k_rounds_held) * m_options.max_in_flight;
  const std::size_t busy = held_count() + m_transfers.size();
  // the endpoints' version is looked at when told, or once per poll
  const bool look =
      m_endpoints_changed.exchange(false) || now >= m_next_version_check;
  if (busy >= window && !look)
    return; // claimed again when a transfer ends
  if (look)
    m_next_version_check = now + m_options.poll_interval;
  // No endpoint takes more than it may hold, so that a busy one does not
  // crowd out the others. The stores know nothing of endpoints being
  // disabled or full: with others about, a claim must ask for more than one
  // endpoint's share, so that deliveries put back do not fill every claim.
  // With a single endpoint it asks for no more than that one may hold, so
  // that the store does not look for more than it can give.
  std::size_t per_endpoint = 1;
  std::size_t room = 0;
  for (const auto &[id, endpoint] : m_endpoints) {
    if (!endpoint.enabled)
      continue;
    const std::size_t limit = held_limit(endpoint);
    const auto queue = m_queues.find(id);
    const std::size_t held =
        queue == m_queues.end() ? 0 : queue->second.held.size();
    if (held < limit) {
      per_endpoint = std::max(per_endpoint, limit - held);
      room += limit - held;
    }
  }
  std::size_t max =
      std::min(busy < window ? window - busy : 0, m_options.claim_batch);
  if (m_endpoints.size() <= 1)
    max = std::min(max, room);
  // with no room the claim still looks whether the endpoints changed
  const auto generation = ++m_generation;
  m_generations[generation];
  m_claiming = true;
  post([this, generation, max, per_endpoint = std::min(per_endpoint, max),
        lease = lease(), known = m_version, look] {
    std::optional<EndpointsRead> read;
    const auto version = look ? m_store.endpoints_version()
                              : WebhookStore::Result<std::uint64_t>(0);
    auto granted = lease;
    if (look && version && (!known || *known != *version)) {
      auto endpoints = m_store.endpoints();
      if (endpoints) {
        // long enough for the endpoints as they are now
        milliseconds longest{0};
        for (const auto &endpoint : *endpoints)
          longest = std::max(longest, endpoint.timeout);
        granted = std::max(granted, lease_for(longest));
        read = EndpointsRead{*version, std::move(*endpoints)};
      } else if (m_store_job_warnings.allow()) {
        LOG_WARN("webhook: cannot read the endpoints: ", endpoints.error());
      }
    }
    const auto lease_end = Steady::now() + granted;
    auto deliveries = m_store.claim(owner(generation), Clock::now(), granted,
                                    max, per_endpoint);
    m_store_ok = version.has_value() && deliveries.has_value();
    // A change told of while this claim was out (after claim() looked at
    // the flag, or after the version was read above) may be older than a
    // delivery the claim found: the admin API stores a rotated secret,
    // tells, answers, and then `webhook test` enqueues. Such a delivery
    // must not be signed with the endpoints from before the change, so they
    // are read again before the reply holds it. endpoints_changed() comes
    // after the change is stored and the delivery is enqueued after that,
    // so a claim that found the delivery sees the flag set here.
    if (deliveries && !deliveries->empty() &&
        m_endpoints_changed.exchange(false)) {
      const auto have = read ? std::optional(read->version) : known;
      const auto now_version = m_store.endpoints_version();
      if (!now_version || !have || *have != *now_version) {
        auto endpoints =
            now_version ? m_store.endpoints()
                        : WebhookStore::Result<std::vector<Endpoint>>(
                              tl::make_unexpected(now_version.error()));
        if (endpoints) {
          read = EndpointsRead{*now_version, std::move(*endpoints)};
        } else {
          // not sent with what may be stale: given back, claimed again
          // once the endpoints can be read
          if (m_store_job_warnings.allow())
            LOG_WARN("webhook: cannot read the endpoints: ", endpoints.error(),
                     "; ", deliveries->size(), " deliveries put back");
          const auto released = m_store.release_owner(owner(generation));
          if (!released && m_store_job_warnings.allow())
            LOG_WARN("webhook: cannot give back leases: ", released.error());
          deliveries->clear();
          m_endpoints_changed = true; // looked at again by the next claim
        }
      }
    }
    reply([this, generation, max, read = std::move(read),
           deliveries = std::move(deliveries), lease_end]() mutable {
      claimed(generation, max, std::move(read), std::move(deliveries),
              lease_end);
    });
  });
}

void Deliverer::Loop::claimed(
    std::uint64_t generation, std::size_t max,
    std::optional<EndpointsRead> endpoints,
    WebhookStore::Result<std::vector<Delivery>> deliveries,
    Steady::time_point lease_end) {
  m_claiming = false;
  const auto now = Steady::now();
  if (endpoints) {
    take_endpoints(std::move(*endpoints));
    m_next_claim = now; // with the room the new endpoints give
  }
  if (!deliveries) {
    if (m_store_warnings.allow())
      LOG_WARN("webhook: cannot claim deliveries: ", deliveries.error());
    settle(generation);
    return;
  }
  const std::size_t found = deliveries->size();
  std::size_t kept = 0;
  // held open while its deliveries are sorted out: a refresh of the
  // endpoints in hold() may put back what was just held
  m_generations[generation].live++;
  for (auto &delivery : *deliveries) {
    if (hold(std::move(delivery), generation, lease_end))
      kept++;
    else
      m_generations[generation].put_back = true;
  }
  m_generations[generation].live--;
  settle(generation);
  // what was put back is claimable again at once: claiming again at once
  // when all of it was would spin
  if (max > 0)
    m_more_due = kept > 0;
  if (found == max && kept > 0)
    m_next_claim = now;
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
  if (found->second.put_back)
    post([this, owner = owner(generation)] {
      const auto released = m_store.release_owner(owner);
      if (!released)
        LOG_WARN("webhook: cannot give back leases: ", released.error());
    });
  m_generations.erase(found);
}

void Deliverer::Loop::put_back_held(EndpointQueue &queue) {
  while (!queue.held.empty()) {
    const auto generation = queue.held.front().generation;
    queue.held.pop_front();
    done(generation, false);
  }
}

std::size_t Deliverer::Loop::held_limit(const Endpoint &endpoint) const {
  return k_rounds_held * std::max(1u, endpoint.concurrency);
}

bool Deliverer::Loop::hold(Delivery delivery, std::uint64_t generation,
                           Steady::time_point lease_end) {
  auto found = m_endpoints.find(delivery.endpoint_id);
  if (found == m_endpoints.end()) {
    refresh_endpoints();
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
  if (queue.held.size() >= held_limit(found->second)) {
    LOG_DEBUG("webhook: endpoint ", delivery.endpoint_id, " busy, delivery ",
              delivery.id, " put back");
    return false;
  }
  m_generations[generation].live++;
  queue.held.push_back(Held{std::move(delivery), generation, lease_end});
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
    judge_ended(std::move(ended));
  // an endpoint's share of the last claim is done: there may be more due
  if (count > 0 && m_more_due)
    m_next_claim = Steady::now();
  if (count > 0 && m_metrics)
    m_metrics->in_flight(m_transfers.size());
  return count;
}

void Deliverer::Loop::judge_ended(
    std::vector<std::pair<std::unique_ptr<Transfer>, CURLcode>> ended) {
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

    const auto &delivery = transfer->delivery;
    const char *what = verdict.action == Verdict::Action::disable ? "disabled"
                       : after.state == DeliveryState::succeeded  ? "succeeded"
                       : after.state == DeliveryState::failed     ? "failed"
                                                                  : "retried";
    if (m_metrics) {
      m_metrics->attempt(
          attempt_label(result),
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

    // the body is not needed any more: the store reads id and endpoint
    Delivery recorded = std::move(transfer->delivery);
    recorded.body.clear();
    m_unrecorded.push_back(
        Judged{Finish{std::move(recorded), owner(transfer->generation),
                      std::move(attempt), after},
               transfer->generation, transfer->endpoint_id, verdict});
  }
}

void Deliverer::Loop::record() {
  if (m_recording || m_unrecorded.empty())
    return;
  m_recording = true;
  post([this, batch = std::move(m_unrecorded)]() mutable {
    std::vector<Finish> finishes;
    finishes.reserve(batch.size());
    for (const auto &judged : batch)
      finishes.push_back(judged.finish);
    auto finished = m_store.finish_all(finishes);

    // endpoints that answered 410 or have been failing too long, each
    // looked at once per batch
    std::vector<std::pair<Endpoint, std::string>> disabled;
    std::set<std::string> seen;
    for (const auto &judged : batch) {
      const auto &id = judged.endpoint_id;
      if (judged.verdict.action == Verdict::Action::disable) {
        if (auto endpoint = disable_in_store(id, "410 Gone"))
          disabled.emplace_back(std::move(*endpoint), "410 Gone");
      } else if (judged.verdict.action == Verdict::Action::retry &&
                 m_options.disable_after.count() > 0 &&
                 seen.insert(id).second) {
        const auto endpoint = m_store.endpoint(id);
        if (endpoint && *endpoint && (*endpoint)->enabled &&
            failing_too_long(**endpoint, Clock::now(),
                             m_options.disable_after)) {
          const std::string reason =
              "failing since " + utc_text((*endpoint)->failing_since);
          if (auto turned_off = disable_in_store(id, reason))
            disabled.emplace_back(std::move(*turned_off), reason);
        }
      }
    }
    reply([this, batch = std::move(batch), finished = std::move(finished),
           disabled = std::move(disabled)]() mutable {
      recorded(std::move(batch), std::move(finished), std::move(disabled));
    });
  });
  m_unrecorded.clear(); // moved from: valid but unspecified
}

void Deliverer::Loop::recorded(
    std::vector<Judged> batch, WebhookStore::Result<std::vector<bool>> finished,
    std::vector<std::pair<Endpoint, std::string>> disabled) {
  m_recording = false;
  if (!finished)
    LOG_WARN("webhook: cannot record the attempts of ", batch.size(),
             " deliveries: ", finished.error());
  for (std::size_t i = 0; i < batch.size(); i++) {
    if (finished && !(*finished)[i])
      LOG_WARN("webhook: delivery ", batch[i].finish.delivery.id,
               " was no longer leased to this daemon when its attempt ended");
    done(batch[i].generation, true);
  }
  for (const auto &[endpoint, reason] : disabled)
    endpoint_disabled(endpoint, reason);
  record();
}

std::optional<Endpoint>
Deliverer::Loop::disable_in_store(const std::string &endpoint_id,
                                  const std::string &reason) {
  auto stored = m_store.endpoint(endpoint_id);
  if (!stored || !*stored) {
    if (!stored)
      LOG_WARN("webhook: cannot read endpoint ", endpoint_id, ": ",
               stored.error());
    return std::nullopt;
  }
  Endpoint endpoint = std::move(**stored);
  if (!endpoint.enabled)
    return std::nullopt;
  endpoint.enabled = false;
  endpoint.disabled_reason = reason;
  endpoint.updated = Clock::now();
  const auto put = m_store.put_endpoint(endpoint, true);
  if (!put) {
    LOG_WARN("webhook: cannot disable endpoint ", endpoint_id, ": ",
             put.error());
    return std::nullopt;
  }
  return endpoint;
}

void Deliverer::Loop::endpoint_disabled(const Endpoint &endpoint,
                                        const std::string &reason) {
  LOG_WARN("webhook: endpoint ", endpoint.id, " disabled: ", reason);
  const auto cached = m_endpoints.find(endpoint.id);
  if (cached != m_endpoints.end())
    cached->second.enabled = false;
  const auto queue = m_queues.find(endpoint.id);
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
  // what the store's thread still has to do, and the replies that follow
  // (a claim's deliveries put back, attempts recorded, leases given back)
  do {
    for (auto &[id, queue] : m_queues)
      put_back_held(queue);
    record();
    m_store_jobs->wait_idle();
  } while (run_replies() || !m_unrecorded.empty());
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
  post([this, before = Clock::now() - m_options.retention] {
    const auto pruned = m_store.prune(before);
    if (!pruned)
      LOG_WARN("webhooks: pruning the delivery log failed: ", pruned.error());
    else if (*pruned > 0)
      LOG_DEBUG("webhooks: pruned ", *pruned, " finished deliveries");
  });
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
  if (m_counting.exchange(true))
    return;
  post([this] {
    if (const auto pending = m_store.pending())
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

bool Deliverer::store_ok() const { return m_loop->store_ok(); }

} // namespace dovewarden::webhook
