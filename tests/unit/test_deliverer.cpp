// The deliverer against a real HTTP receiver on 127.0.0.1 and a real
// SQLite outbox. The receiver checks signatures with its own HMAC (OpenSSL),
// not with webhook/Signature.
#include "HttpServer.hpp"
#include "TestUtil.hpp"
#include "core/Event.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/Deliverer.hpp"
#include "webhook/Signature.hpp"
#include "webhook/SqliteWebhookStore.hpp"
#include "webhook/WebhookMetrics.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <prometheus/text_serializer.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace dovewarden;
using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using dovewarden::test::ok;
using dovewarden::test::TempDir;
using dovewarden::test::wait_until;

namespace {

// the Standard Webhooks spec's example secret (24 bytes)
constexpr const char *k_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string base64(const std::string &bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                      reinterpret_cast<const unsigned char *>(bytes.data()),
                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

std::string unbase64(const std::string &text) {
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                      reinterpret_cast<const unsigned char *>(text.data()),
                      static_cast<int>(text.size()));
  BOOST_REQUIRE(length >= 0);
  std::size_t size = static_cast<std::size_t>(length);
  // EVP_DecodeBlock counts the padding as zero bytes
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it)
    size--;
  out.resize(size);
  return out;
}

// The Standard Webhooks algorithm, written again here.
std::string expected_signature(const std::string &secret, const std::string &id,
                               const std::string &timestamp,
                               const std::string &body) {
  const std::string key = unbase64(secret.substr(6));
  const std::string message = id + "." + timestamp + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char *>(message.data()), message.size(),
       digest, &length);
  return "v1," +
         base64(std::string(reinterpret_cast<const char *>(digest), length));
}

struct Request {
  std::string path;
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string content_type;
  std::string user_agent;
  std::string body;
  std::chrono::system_clock::time_point at;
};

// A webhook receiver: records every request and answers with what the
// test set per path (200 by default).
class Receiver {
public:
  using Handler = std::function<void(int call, httplib::Response &response)>;

  Receiver() {
    m_http.server().Post(R"(/(\w+))", [this](const httplib::Request &request,
                                             httplib::Response &response) {
      handle(request, response);
    });
    m_http.server().new_task_queue = [] { return new httplib::ThreadPool(16); };
    m_http.start();
  }
  ~Receiver() {
    release();
    m_http.stop();
  }

  std::string url(const std::string &path) const {
    return m_http.url("/" + path);
  }

  void on(const std::string &path, Handler handler) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_handlers[path] = std::move(handler);
  }

  // Returns the requests to path so far.
  std::vector<Request> requests(const std::string &path) {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<Request> found;
    for (const auto &request : m_requests) {
      if (request.path == path)
        found.push_back(request);
    }
    return found;
  }

  int max_concurrent(const std::string &path) {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_max_concurrent[path];
  }

  // Makes hanging handlers return (see hang()).
  void release() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_released = true;
    }
    m_changed.notify_all();
  }

  // Holds a handler until release() or for at most limit.
  void hang(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_changed.wait_for(lock, limit, [this] { return m_released; });
  }

  // Holds a handler until n requests to path are in at once, or for at
  // most limit.
  void await_concurrent(const std::string &path, int n,
                        std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_changed.wait_for(lock, limit, [&] { return m_concurrent[path] >= n; });
  }

private:
  void handle(const httplib::Request &request, httplib::Response &response) {
    const std::string path = request.matches[1];
    Handler handler;
    int call = 0;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_requests.push_back(
          Request{path, request.get_header_value("webhook-id"),
                  request.get_header_value("webhook-timestamp"),
                  request.get_header_value("webhook-signature"),
                  request.get_header_value("Content-Type"),
                  request.get_header_value("User-Agent"), request.body,
                  std::chrono::system_clock::now()});
      call = ++m_calls[path];
      const int now = ++m_concurrent[path];
      m_max_concurrent[path] = std::max(m_max_concurrent[path], now);
      const auto found = m_handlers.find(path);
      if (found != m_handlers.end())
        handler = found->second;
    }
    m_changed.notify_all();
    response.status = 200;
    response.set_content("ok", "text/plain");
    if (handler)
      handler(call, response);
    std::lock_guard<std::mutex> lock(m_mutex);
    --m_concurrent[path];
  }

  dovewarden::test::HttpServer m_http;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_released = false;
  std::map<std::string, Handler> m_handlers;
  std::vector<Request> m_requests;
  std::map<std::string, int> m_calls;
  std::map<std::string, int> m_concurrent;
  std::map<std::string, int> m_max_concurrent;
};

// A WebhookStore that passes every call to a real one, counts the claims,
// and runs a hook set by the test once, at the start of the next claim (on
// the deliverer's store thread, after it looked at the endpoints and before
// it reads the outbox).
class ClaimHookStore : public WebhookStore {
public:
  explicit ClaimHookStore(WebhookStore &store) : m_store(store) {}

  void before_next_claim(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_hook = std::move(hook);
  }
  bool hook_ran() const { return m_hook_ran; }
  std::size_t claims() const { return m_claims; }

  Result<void> do_ping() override { return m_store.ping(); }
  Result<bool> do_put_endpoint(const Endpoint &endpoint,
                               bool replace) override {
    return m_store.put_endpoint(endpoint, replace);
  }
  Result<std::optional<Endpoint>> do_endpoint(const std::string &id) override {
    return m_store.endpoint(id);
  }
  Result<std::vector<Endpoint>> do_endpoints() override {
    return m_store.endpoints();
  }
  Result<bool> do_remove_endpoint(const std::string &id) override {
    return m_store.remove_endpoint(id);
  }
  Result<std::uint64_t> do_endpoints_version() override {
    return m_store.endpoints_version();
  }
  Result<void> do_enqueue(const std::vector<Delivery> &deliveries) override {
    return m_store.enqueue(deliveries);
  }
  Result<std::vector<Delivery>> do_claim(const std::string &owner,
                                         TimePoint now,
                                         std::chrono::milliseconds lease,
                                         std::size_t max,
                                         std::size_t per_endpoint) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      hook.swap(m_hook);
    }
    if (hook) {
      hook();
      m_hook_ran = true;
    }
    m_claims++;
    return m_store.claim(owner, now, lease, max, per_endpoint);
  }
  Result<bool> do_finish(const Delivery &delivery, const std::string &owner,
                         const Attempt &attempt,
                         const Outcome &outcome) override {
    return m_store.finish(delivery, owner, attempt, outcome);
  }
  Result<std::vector<bool>>
  do_finish_all(const std::vector<Finish> &finishes) override {
    return m_store.finish_all(finishes);
  }
  Result<std::size_t> do_release_owner(const std::string &owner) override {
    return m_store.release_owner(owner);
  }
  Result<std::vector<DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) override {
    return m_store.deliveries(endpoint_id, limit);
  }
  Result<std::optional<DeliveryRecord>>
  do_delivery(const std::string &id) override {
    return m_store.delivery(id);
  }
  Result<bool> do_redeliver(const std::string &id, TimePoint now) override {
    return m_store.redeliver(id, now);
  }
  Result<std::size_t> do_recover(const std::string &endpoint_id,
                                 TimePoint since, TimePoint until,
                                 TimePoint now) override {
    return m_store.recover(endpoint_id, since, until, now);
  }
  Result<std::uint64_t> do_pending() override { return m_store.pending(); }
  Result<std::size_t> do_prune(TimePoint before, std::size_t) override {
    return m_store.prune(before);
  }

private:
  WebhookStore &m_store;
  std::mutex m_mutex;
  std::function<void()> m_hook;
  std::atomic<bool> m_hook_ran{false};
  std::atomic<std::size_t> m_claims{0};
};

struct Fixture {
  Fixture() { store = ok(SqliteWebhookStore::open(directory.path())); }
  ~Fixture() {
    deliverer.reset();
    hooked.reset();
    store.reset();
  }

  Deliverer::Options options(bool allow_loopback = true) {
    Deliverer::Options options;
    options.owner = "test:1:webhook";
    options.schedule = *RetrySchedule::parse("0s,100ms,100ms");
    options.address_policy =
        ok(AddressPolicy::parse(allow_loopback ? "127.0.0.0/8" : ""));
    options.poll_interval = 50ms;
    options.stop_wait = 1s;
    return options;
  }

  void start(Deliverer::Options options) { start(std::move(options), *store); }
  void start(Deliverer::Options options, WebhookStore &through) {
    deliverer = std::make_unique<Deliverer>(
        through, std::move(options),
        [this](core::Event event) {
          std::lock_guard<std::mutex> lock(mutex);
          published.push_back(std::move(event));
        },
        &metrics);
    deliverer->start();
  }

  Endpoint endpoint(const std::string &path,
                    std::chrono::milliseconds timeout = 5s,
                    unsigned concurrency = 4) {
    Endpoint endpoint;
    endpoint.id = "ep_" + path;
    endpoint.url = receiver.url(path);
    endpoint.event_types = {"*"};
    endpoint.timeout = timeout;
    endpoint.concurrency = concurrency;
    endpoint.secrets = {Secret{k_secret, TimePoint{}}};
    endpoint.created = endpoint.updated = std::chrono::system_clock::now();
    BOOST_REQUIRE(ok(store->put_endpoint(endpoint, true)));
    return endpoint;
  }

  std::string send(const Endpoint &endpoint, int n = 0) {
    const auto made = delivery(endpoint, n);
    ok(store->enqueue({made}));
    if (deliverer)
      deliverer->wake();
    return made.id;
  }

  static Delivery delivery(const Endpoint &endpoint, int n) {
    Delivery delivery;
    delivery.id = "msg_" + endpoint.id.substr(3) + std::to_string(n);
    delivery.endpoint_id = endpoint.id;
    delivery.event_type = "message.new";
    delivery.body = R"({"type":"message.new","timestamp":"2024-05-01T10:00:)"
                    R"(00.000000Z","data":{"user":"alice","n":)" +
                    std::to_string(n) + "}}";
    delivery.created = delivery.next_attempt = std::chrono::system_clock::now();
    return delivery;
  }

  DeliveryRecord record(const std::string &id) {
    const auto found = ok(store->delivery(id));
    BOOST_REQUIRE(found.has_value());
    return *found;
  }

  bool settled(const std::string &id) {
    const auto found = ok(store->delivery(id));
    return found && found->delivery.state != DeliveryState::pending;
  }

  std::size_t attempts(const std::string &id) {
    const auto found = ok(store->delivery(id));
    return found ? found->attempts.size() : 0;
  }

  TempDir directory; // outlives the store in it
  std::unique_ptr<SqliteWebhookStore> store;
  std::unique_ptr<ClaimHookStore> hooked; // over store, if a test wants it
  Receiver receiver;
  prometheus::Registry registry;
  webhook::WebhookMetrics metrics{registry};
  std::mutex mutex;
  std::vector<core::Event> published;
  std::unique_ptr<Deliverer> deliverer;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(deliverer, Fixture)

BOOST_AUTO_TEST_CASE(delivers_signed_standard_webhook) {
  const auto target = endpoint("hook");
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));

  const auto requests = receiver.requests("hook");
  BOOST_REQUIRE_EQUAL(requests.size(), 1u);
  const auto &request = requests[0];
  const auto delivery = record(id);
  BOOST_TEST(request.id == id);
  BOOST_TEST(request.body == delivery.delivery.body);
  BOOST_TEST(request.content_type == "application/json");
  BOOST_TEST(request.user_agent.rfind("dovewarden/", 0) == 0u);
  const auto timestamp = std::stoll(request.timestamp);
  const auto sent = std::chrono::duration_cast<std::chrono::seconds>(
                        request.at.time_since_epoch())
                        .count();
  BOOST_TEST(std::llabs(timestamp - sent) <= 5);
  BOOST_TEST(request.signature ==
             expected_signature(k_secret, id, request.timestamp, request.body));

  BOOST_TEST((delivery.delivery.state == DeliveryState::succeeded));
  BOOST_REQUIRE_EQUAL(delivery.attempts.size(), 1u);
  BOOST_TEST(delivery.attempts[0].status == 200);
  BOOST_TEST(delivery.attempts[0].response == "ok");
  BOOST_TEST(delivery.attempts[0].error.empty());

  const std::string exposed =
      prometheus::TextSerializer().Serialize(registry.Collect());
  BOOST_TEST(
      exposed.find(
          "dovewarden_webhook_deliveries_total{result=\"succeeded\"} 1") !=
      std::string::npos);
  BOOST_TEST(
      exposed.find("dovewarden_webhook_attempts_total{outcome=\"2xx\"} 1") !=
      std::string::npos);
  BOOST_TEST(
      exposed.find("dovewarden_webhook_attempts_total{outcome=\"5xx\"} 0") !=
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(long_response_is_cut_off) {
  const auto target = endpoint("chatty");
  receiver.on("chatty", [](int, httplib::Response &response) {
    response.set_content(std::string(1 << 20, 'x'), "text/plain");
  });
  auto opts = options();
  opts.response_limit = 64 * 1024;
  start(std::move(opts));
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));
  const auto delivery = record(id);
  BOOST_TEST((delivery.delivery.state == DeliveryState::succeeded));
  BOOST_REQUIRE_EQUAL(delivery.attempts.size(), 1u);
  BOOST_TEST(delivery.attempts[0].status == 200);
  BOOST_TEST(delivery.attempts[0].response == std::string(1024, 'x'));
  BOOST_TEST(delivery.attempts[0].error.find("cut off") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(retries_after_500_with_the_same_id) {
  const auto target = endpoint("flaky");
  receiver.on("flaky", [](int call, httplib::Response &response) {
    if (call == 1) {
      response.status = 500;
      response.set_content("try again", "text/plain");
    }
  });
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));

  const auto delivery = record(id);
  BOOST_TEST((delivery.delivery.state == DeliveryState::succeeded));
  BOOST_REQUIRE_EQUAL(delivery.attempts.size(), 2u);
  BOOST_TEST(delivery.attempts[0].status == 500);
  BOOST_TEST(delivery.attempts[0].response == "try again");
  BOOST_TEST(delivery.attempts[1].status == 200);
  const auto requests = receiver.requests("flaky");
  BOOST_REQUIRE_EQUAL(requests.size(), 2u);
  BOOST_TEST(requests[0].id == id);
  BOOST_TEST(requests[1].id == id);
  for (const auto &request : requests)
    BOOST_TEST(request.signature == expected_signature(k_secret, id,
                                                       request.timestamp,
                                                       request.body));
}

BOOST_AUTO_TEST_CASE(schedule_used_up_fails_the_delivery) {
  const auto target = endpoint("broken");
  receiver.on("broken",
              [](int, httplib::Response &response) { response.status = 503; });
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));
  const auto delivery = record(id);
  BOOST_TEST((delivery.delivery.state == DeliveryState::failed));
  BOOST_TEST(delivery.attempts.size() == 3u);
  BOOST_TEST(receiver.requests("broken").size() == 3u);
}

BOOST_AUTO_TEST_CASE(hanging_receiver_times_out) {
  const auto target = endpoint("hang", 300ms);
  receiver.on("hang", [this](int, httplib::Response &) { receiver.hang(10s); });
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return attempts(id) >= 1; }));
  const auto delivery = record(id);
  BOOST_TEST(delivery.attempts[0].status == 0);
  BOOST_TEST(!delivery.attempts[0].error.empty());
  BOOST_TEST((delivery.attempts[0].latency < 5s));
  receiver.release();
}

BOOST_AUTO_TEST_CASE(gone_disables_the_endpoint) {
  const auto target = endpoint("gone");
  receiver.on("gone",
              [](int, httplib::Response &response) { response.status = 410; });
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));
  BOOST_TEST((record(id).delivery.state == DeliveryState::failed));
  BOOST_TEST(record(id).attempts.size() == 1u);
  // the delivery settles before the endpoint is switched off
  BOOST_REQUIRE(wait_until([&] {
    const auto stored = ok(store->endpoint(target.id));
    return stored && !stored->enabled;
  }));
  const auto stored = ok(store->endpoint(target.id));
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST(stored->disabled_reason == "410 Gone");

  BOOST_REQUIRE(wait_until([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return !published.empty();
  }));
  std::lock_guard<std::mutex> lock(mutex);
  BOOST_REQUIRE_EQUAL(published.size(), 1u);
  const auto &event = published[0];
  BOOST_TEST(event.type() == "webhook.endpoint_disabled");
  BOOST_TEST(event.message.str("endpoint_id") == target.id);
  BOOST_TEST(event.message.str("url") == target.url);
  BOOST_TEST(event.message.str("reason") == "410 Gone");
}

BOOST_AUTO_TEST_CASE(disabled_endpoint_gets_nothing_until_enabled_again) {
  auto target = endpoint("later");
  target.enabled = false;
  ok(store->put_endpoint(target, true));
  hooked = std::make_unique<ClaimHookStore>(*store);
  start(options(), *hooked);
  const auto id = send(target);
  // the deliverer looked at the outbox since, at least once in full
  const auto claims = hooked->claims();
  BOOST_REQUIRE(wait_until([&] { return hooked->claims() >= claims + 2; }));
  BOOST_TEST(receiver.requests("later").empty());
  BOOST_TEST(attempts(id) == 0u);
  BOOST_TEST(!settled(id));

  target.enabled = true;
  ok(store->put_endpoint(target, true));
  BOOST_TEST(wait_until([&] { return settled(id); }));
  BOOST_TEST(receiver.requests("later").size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_disabled_endpoints_backlog_does_not_hold_up_another) {
  auto stopped = endpoint("stopped");
  stopped.enabled = false;
  ok(store->put_endpoint(stopped, true));
  for (int n = 0; n < 40; n++)
    send(stopped, n);
  const auto live = endpoint("live"); // concurrency 4
  start(options());
  const auto id = send(live);
  BOOST_TEST(wait_until([&] { return settled(id); }));
  BOOST_TEST(receiver.requests("live").size() == 1u);
  BOOST_TEST(receiver.requests("stopped").empty());
}

BOOST_AUTO_TEST_CASE(redirect_is_a_failure_not_followed) {
  const auto target = endpoint("moved");
  receiver.on("moved", [this](int, httplib::Response &response) {
    response.status = 301;
    response.set_header("Location", receiver.url("elsewhere"));
  });
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));
  const auto delivery = record(id);
  BOOST_TEST((delivery.delivery.state == DeliveryState::failed));
  BOOST_REQUIRE(!delivery.attempts.empty());
  BOOST_TEST(delivery.attempts[0].status == 301);
  BOOST_TEST(receiver.requests("elsewhere").empty());
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured) {
  const auto target = endpoint("busy");
  receiver.on("busy", [](int call, httplib::Response &response) {
    if (call == 1) {
      response.status = 429;
      response.set_header("Retry-After", "2");
    }
  });
  start(options());
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return attempts(id) >= 1; }));
  const auto first = record(id);
  BOOST_TEST(first.attempts[0].status == 429);
  if (first.delivery.state == DeliveryState::pending)
    BOOST_TEST((first.delivery.next_attempt >= first.attempts[0].at + 2s));
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));
  const auto requests = receiver.requests("busy");
  BOOST_REQUIRE_EQUAL(requests.size(), 2u);
  // the second came no earlier than Retry-After said (timestamps are seconds)
  BOOST_TEST(std::stoll(requests[1].timestamp) -
                 std::stoll(requests[0].timestamp) >=
             2);
  BOOST_TEST((requests[1].at - requests[0].at >= 1900ms));
}

BOOST_AUTO_TEST_CASE(per_endpoint_concurrency_is_bounded) {
  const auto target = endpoint("narrow", 5s, 2);
  // each request waits until another is in, then a while for a third,
  // which must not come
  receiver.on("narrow", [this](int, httplib::Response &) {
    receiver.await_concurrent("narrow", 2, 15s);
    receiver.await_concurrent("narrow", 3, 300ms);
  });
  start(options());
  std::vector<std::string> ids;
  for (int i = 0; i < 6; i++)
    ids.push_back(send(target, i));
  BOOST_REQUIRE(wait_until([&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string &id) { return settled(id); });
  }));
  BOOST_TEST(receiver.requests("narrow").size() == 6u);
  BOOST_TEST(receiver.max_concurrent("narrow") == 2);
}

BOOST_AUTO_TEST_CASE(rate_limit_spaces_requests) {
  auto target = endpoint("metered");
  target.rate_limit = 4; // a burst of 4, then one every 250 ms
  ok(store->put_endpoint(target, true));
  std::vector<std::string> ids;
  for (int i = 0; i < 6; i++)
    ids.push_back(send(target, i));
  start(options());
  BOOST_REQUIRE(wait_until([&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string &id) { return settled(id); });
  }));
  auto requests = receiver.requests("metered");
  BOOST_REQUIRE_EQUAL(requests.size(), 6u);
  std::sort(requests.begin(), requests.end(),
            [](const Request &a, const Request &b) { return a.at < b.at; });
  BOOST_TEST((requests.back().at - requests.front().at >= 400ms));
}

BOOST_AUTO_TEST_CASE(slow_endpoint_does_not_hold_up_another) {
  const auto slow = endpoint("slow", 20s, 2);
  const auto fast = endpoint("fast");
  receiver.on("slow", [this](int, httplib::Response &) { receiver.hang(20s); });
  start(options());
  for (int i = 0; i < 6; i++)
    send(slow, i);
  BOOST_REQUIRE(
      wait_until([&] { return receiver.max_concurrent("slow") == 2; }));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; i++)
    ids.push_back(send(fast, i));
  BOOST_TEST(wait_until([&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string &id) { return settled(id); });
  }));
  // the slow ones are still hanging
  BOOST_TEST(receiver.requests("slow").size() == 2u);
  receiver.release();
}

BOOST_AUTO_TEST_CASE(ssrf_guard_refuses_loopback_unless_allowed) {
  const auto target = endpoint("private");
  start(options(false));
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] { return attempts(id) >= 1; }));
  const auto delivery = record(id);
  BOOST_TEST(delivery.attempts[0].status == 0);
  BOOST_TEST(delivery.attempts[0].error.find("refused") != std::string::npos,
             delivery.attempts[0].error);
  BOOST_TEST(delivery.attempts[0].error.find("127.0.0.1") != std::string::npos,
             delivery.attempts[0].error);
  // every attempt refused
  BOOST_REQUIRE(wait_until([&] { return settled(id); }));
  BOOST_TEST(receiver.requests("private").empty());
}

BOOST_AUTO_TEST_CASE(failing_too_long_disables) {
  const auto target = endpoint("down");
  receiver.on("down",
              [](int, httplib::Response &response) { response.status = 500; });
  auto opts = options();
  opts.disable_after = 1ms;
  start(std::move(opts));
  const auto id = send(target);
  BOOST_REQUIRE(wait_until([&] {
    const auto stored = ok(store->endpoint(target.id));
    return stored && !stored->enabled;
  }));
  const auto stored = ok(store->endpoint(target.id));
  BOOST_TEST(stored->disabled_reason.rfind("failing since ", 0) == 0u,
             stored->disabled_reason);
  // the delivery waits for the endpoint to be enabled again
  BOOST_TEST(!settled(id));
  // the event follows the store's write, from the deliverer's thread
  BOOST_REQUIRE(wait_until([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return !published.empty();
  }));
  std::lock_guard<std::mutex> lock(mutex);
  BOOST_REQUIRE_EQUAL(published.size(), 1u);
  BOOST_TEST(published[0].message.str("reason") == stored->disabled_reason);
}

BOOST_AUTO_TEST_CASE(stop_gives_back_the_leases) {
  const auto target = endpoint("stuck", 20s, 1);
  receiver.on("stuck",
              [this](int, httplib::Response &) { receiver.hang(20s); });
  auto opts = options();
  opts.stop_wait = 200ms;
  start(std::move(opts));
  const auto first = send(target, 1);
  BOOST_REQUIRE(
      wait_until([&] { return receiver.requests("stuck").size() == 1; }));
  deliverer->stop();
  receiver.release();
  // nothing recorded for the aborted request, and it can be claimed again
  BOOST_TEST(attempts(first) == 0u);
  const auto claimed =
      ok(store->claim("other", std::chrono::system_clock::now(), 10s, 10, 0));
  BOOST_TEST(claimed.size() == 1u);
}

// The admin API stores a rotated secret, calls endpoints_changed() and
// answers; only then can `webhook test` enqueue. Here all of that happens
// while a claim is out, after it looked at the endpoints and before it reads
// the outbox: the delivery it finds was created after the rotation was told
// of, and must be signed with both secrets, not with the endpoint as the
// deliverer had it when the claim set out.
BOOST_AUTO_TEST_CASE(a_change_told_while_claiming_is_read_before_signing) {
  const auto target = endpoint("rotated");
  hooked = std::make_unique<ClaimHookStore>(*store);
  auto slow = options();
  slow.poll_interval = 1h; // the endpoints are looked at when told, only
  start(slow, *hooked);
  const auto first = send(target, 0);
  BOOST_REQUIRE(wait_until([&] { return settled(first); }));

  const std::string next_secret = generate_secret();
  const auto rotated_at = std::chrono::system_clock::now();
  std::atomic<bool> stored{false};
  std::atomic<bool> queued{false};
  hooked->before_next_claim([&] {
    Endpoint rotated = target;
    rotated.secrets = {Secret{next_secret, TimePoint{}},
                       Secret{k_secret, rotated_at + 1h}};
    rotated.updated = rotated_at;
    stored = store->put_endpoint(rotated, true).has_value();
    deliverer->endpoints_changed();
    Delivery test = delivery(target, 1);
    queued = store->enqueue({test}).has_value();
  });
  deliverer->wake();
  const std::string second = "msg_rotated1";
  BOOST_REQUIRE(wait_until([&] { return hooked->hook_ran(); }));
  BOOST_REQUIRE(stored);
  BOOST_REQUIRE(queued);
  BOOST_REQUIRE(wait_until([&] { return settled(second); }));

  const auto requests = receiver.requests("rotated");
  BOOST_REQUIRE_EQUAL(requests.size(), 2u);
  const auto &request = requests[1];
  BOOST_REQUIRE(request.id == second);
  BOOST_TEST(
      request.signature ==
      expected_signature(next_secret, second, request.timestamp, request.body) +
          " " +
          expected_signature(k_secret, second, request.timestamp,
                             request.body));
}

BOOST_AUTO_TEST_SUITE_END()
