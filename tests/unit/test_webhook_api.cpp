#include "TestUtil.hpp"
#include "admin/AdminServer.hpp"
#include "admin/AdminToken.hpp"
#include "admin/WebhookApi.hpp"
#include "cli/AdminClient.hpp"
#include "cli/Format.hpp"
#include "cli/WebhookCommand.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/Signature.hpp"
#include "webhook/SqliteWebhookStore.hpp"

#include <CLI/CLI.hpp>
#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace dovewarden;
using namespace std::chrono_literals;
using admin::AdminServer;
using admin::AdminToken;
using admin::WebhookApi;
using nlohmann::json;
using webhook::Clock;
using webhook::DeliveryState;
using webhook::TimePoint;

using dovewarden::test::free_port;

namespace {

constexpr const char *k_token = "webhook-admin-token";

class TempDir {
public:
  TempDir() {
    char name[] = "/tmp/dovewarden-test-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name) != nullptr);
    m_path = name;
  }
  ~TempDir() { std::filesystem::remove_all(m_path); }
  const std::string &path() const { return m_path; }

private:
  std::string m_path;
};

std::int64_t unix_seconds(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             time.time_since_epoch())
      .count();
}

// A WebhookStore that passes every call to a real one, or fails them all
// while failing is set.
class SwitchedStore : public webhook::WebhookStore {
public:
  explicit SwitchedStore(webhook::WebhookStore &store) : m_store(store) {}
  std::atomic<bool> failing = false;

  Result<void> do_ping() override {
    return pass([&] { return m_store.ping(); });
  }
  Result<bool> do_put_endpoint(const webhook::Endpoint &endpoint,
                               bool replace) override {
    return pass([&] { return m_store.put_endpoint(endpoint, replace); });
  }
  Result<std::optional<webhook::Endpoint>>
  do_endpoint(const std::string &id) override {
    return pass([&] { return m_store.endpoint(id); });
  }
  Result<std::vector<webhook::Endpoint>> do_endpoints() override {
    return pass([&] { return m_store.endpoints(); });
  }
  Result<bool> do_remove_endpoint(const std::string &id) override {
    return pass([&] { return m_store.remove_endpoint(id); });
  }
  Result<std::uint64_t> do_endpoints_version() override {
    return pass([&] { return m_store.endpoints_version(); });
  }
  Result<void>
  do_enqueue(const std::vector<webhook::Delivery> &deliveries) override {
    return pass([&] { return m_store.enqueue(deliveries); });
  }
  Result<std::vector<webhook::Delivery>>
  do_claim(const std::string &owner, TimePoint now,
           std::chrono::milliseconds lease, std::size_t max,
           std::size_t per_endpoint) override {
    return pass(
        [&] { return m_store.claim(owner, now, lease, max, per_endpoint); });
  }
  Result<bool> do_finish(const webhook::Delivery &delivery,
                         const std::string &owner,
                         const webhook::Attempt &attempt,
                         const webhook::Outcome &outcome) override {
    return pass(
        [&] { return m_store.finish(delivery, owner, attempt, outcome); });
  }
  Result<std::size_t> do_release_owner(const std::string &owner) override {
    return pass([&] { return m_store.release_owner(owner); });
  }
  Result<std::vector<webhook::DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) override {
    return pass([&] { return m_store.deliveries(endpoint_id, limit); });
  }
  Result<std::optional<webhook::DeliveryRecord>>
  do_delivery(const std::string &id) override {
    return pass([&] { return m_store.delivery(id); });
  }
  Result<bool> do_redeliver(const std::string &id, TimePoint now) override {
    return pass([&] { return m_store.redeliver(id, now); });
  }
  Result<std::size_t> do_recover(const std::string &endpoint_id,
                                 TimePoint since, TimePoint until,
                                 TimePoint now) override {
    return pass(
        [&] { return m_store.recover(endpoint_id, since, until, now); });
  }
  Result<std::uint64_t> do_pending() override {
    return pass([&] { return m_store.pending(); });
  }
  Result<std::size_t> do_prune(TimePoint before, std::size_t) override {
    return pass([&] { return m_store.prune(before); });
  }

private:
  template <typename Call> auto pass(Call call) -> decltype(call()) {
    if (failing)
      return db::unavailable("switched off");
    return call();
  }

  webhook::WebhookStore &m_store;
};

// An AdminServer with a WebhookApi over SQLite stores in a temporary
// directory, on a loopback port.
struct ApiFixture {
  TempDir dir;
  std::unique_ptr<webhook::SqliteWebhookStore> sqlite;
  std::unique_ptr<SwitchedStore> store;
  webhook::AddressPolicy policy;
  std::atomic<int> changes = 0;
  std::unique_ptr<WebhookApi> api;
  std::unique_ptr<AdminServer> server;
  std::uint16_t port = 0;
  httplib::Headers auth{{"Authorization", std::string("Bearer ") + k_token}};

  explicit ApiFixture(const std::string &allow_list = "") {
    auto webhooks = webhook::SqliteWebhookStore::open(dir.path());
    BOOST_REQUIRE(webhooks);
    sqlite = std::move(*webhooks);
    store = std::make_unique<SwitchedStore>(*sqlite);
    auto parsed = webhook::AddressPolicy::parse(allow_list);
    BOOST_REQUIRE(parsed);
    policy = std::move(*parsed);
    api = std::make_unique<WebhookApi>(*store, policy, [this] { changes++; });
    // another process may take the port between free_port() and bind
    for (int attempt = 0; attempt < 5 && !server; attempt++) {
      port = free_port();
      server = std::make_unique<AdminServer>(
          util::ListenAddress{"127.0.0.1", port}, AdminToken(k_token));
      server->add(*api);
      if (!server->start())
        server.reset();
    }
    BOOST_REQUIRE(server);
  }
  ~ApiFixture() { server->stop(); }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client;
  }
  // Returns the answer's status and JSON body (null if empty).
  std::pair<int, json> call(const std::string &method, const std::string &path,
                            const json &body = nullptr) {
    auto client = this->client();
    const auto text = body.is_null() ? std::string() : body.dump();
    BOOST_REQUIRE(method == "GET" || method == "POST" || method == "PATCH" ||
                  method == "DELETE");
    const auto result =
        method == "GET"     ? client.Get(path, auth)
        : method == "POST"  ? client.Post(path, auth, text, "application/json")
        : method == "PATCH" ? client.Patch(path, auth, text, "application/json")
                            : client.Delete(path, auth);
    BOOST_REQUIRE(result);
    return {result->status,
            result->body.empty() ? json() : json::parse(result->body)};
  }
  json create(const json &body) {
    const auto [status, answer] = call("POST", "/v1/webhooks", body);
    BOOST_REQUIRE_MESSAGE(status == 201, answer.dump());
    return answer;
  }
  webhook::Endpoint stored(const std::string &id) {
    const auto endpoint = sqlite->endpoint(id);
    BOOST_REQUIRE(endpoint);
    BOOST_REQUIRE(endpoint->has_value());
    return **endpoint;
  }
  // Enqueues a delivery created at created and makes one failed attempt of
  // it (status 500, "oops"), final if final, else due again in an hour.
  std::string failed_delivery(const std::string &endpoint_id, TimePoint created,
                              bool final = true) {
    webhook::Delivery delivery;
    delivery.id = "msg_" + std::to_string(created.time_since_epoch().count());
    delivery.endpoint_id = endpoint_id;
    delivery.event_type = "message.new";
    delivery.body = R"({"type":"message.new"})";
    delivery.created = delivery.next_attempt = created;
    BOOST_REQUIRE(sqlite->enqueue({delivery}));
    const auto claimed = sqlite->claim("test", Clock::now(), 1min, 10, 0);
    BOOST_REQUIRE(claimed);
    const auto ours =
        std::find_if(claimed->begin(), claimed->end(), [&](const auto &found) {
          return found.id == delivery.id;
        });
    BOOST_REQUIRE(ours != claimed->end());
    webhook::Attempt attempt;
    attempt.delivery_id = delivery.id;
    attempt.at = Clock::now();
    attempt.status = 500;
    attempt.latency = 120ms;
    attempt.response = "oops";
    webhook::Outcome outcome;
    outcome.state = final ? DeliveryState::failed : DeliveryState::pending;
    outcome.retry_at = Clock::now() + 1h;
    BOOST_REQUIRE(sqlite->finish(*ours, "test", attempt, outcome));
    // others pending (a webhook.test) stay pending
    BOOST_REQUIRE(sqlite->release_owner("test"));
    return delivery.id;
  }
};

struct LoopbackAllowed : ApiFixture {
  LoopbackAllowed() : ApiFixture("127.0.0.0/8,::1") {}
};

const json k_minimal = {{"url", "https://hooks.example.com/in"},
                        {"events", {"message.*", "flags.*"}}};

} // namespace

BOOST_AUTO_TEST_SUITE(webhook_api)

BOOST_FIXTURE_TEST_CASE(requests_without_the_token_are_refused, ApiFixture) {
  auto client = this->client();
  for (const auto &headers :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer no"}}}) {
    auto result = client.Get("/v1/webhooks", headers);
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 401);
    result = client.Post("/v1/webhooks", headers, k_minimal.dump(),
                         "application/json");
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 401);
  }
  BOOST_TEST(sqlite->endpoints()->empty());
  BOOST_TEST(changes == 0);
}

BOOST_FIXTURE_TEST_CASE(create_list_show_delete, ApiFixture) {
  const auto before = Clock::now() - 1s;
  const auto created = create(k_minimal);
  const auto id = created.at("id").get<std::string>();
  BOOST_TEST(id.rfind("ep_", 0) == 0);
  BOOST_TEST(id.size() == 25u);
  BOOST_TEST(changes == 1);
  // the only answer but show --secret that holds the secret
  BOOST_REQUIRE(created.at("secrets").size() == 1u);
  const auto secret = created["secrets"][0].at("secret").get<std::string>();
  BOOST_TEST(bool(webhook::check_secret(secret)));
  BOOST_TEST(created["secrets"][0].at("expires").is_null());
  BOOST_TEST(created.at("url") == "https://hooks.example.com/in");
  BOOST_TEST(created.at("events") == json({"message.*", "flags.*"}));
  BOOST_TEST(created.at("filter") == "");
  BOOST_TEST(created.at("timeout") == "15s");
  BOOST_TEST(created.at("rate_limit") == 0);
  BOOST_TEST(created.at("concurrency") == 4);
  BOOST_TEST(created.at("batch_max") == 1);
  BOOST_TEST(created.at("batch_wait") == "0s");
  BOOST_TEST(created.at("enabled") == true);
  BOOST_TEST(created.at("failing_since").is_null());
  BOOST_TEST(created.at("created").get<std::int64_t>() >= unix_seconds(before));

  const auto endpoint = stored(id);
  BOOST_TEST(endpoint.url == "https://hooks.example.com/in");
  BOOST_TEST(endpoint.secrets.size() == 1u);
  BOOST_TEST(endpoint.secrets[0].value == secret);
  BOOST_TEST((endpoint.created >= before));

  const auto second =
      create({{"url", "http://hooks.example.com:8080/b"}, {"events", {"*"}}});
  auto [status, list] = call("GET", "/v1/webhooks");
  BOOST_TEST(status == 200);
  BOOST_REQUIRE(list.size() == 2u);
  // in the order created; two made in the same millisecond, by id
  auto earlier = id;
  auto later = second.at("id").get<std::string>();
  const auto order = [this](const std::string &of) {
    return std::make_pair(stored(of).created, of);
  };
  if (order(later) < order(earlier))
    std::swap(earlier, later);
  BOOST_TEST(list[0].at("id") == earlier);
  BOOST_TEST(list[1].at("id") == later);
  BOOST_TEST(!list[0].contains("secrets"));
  BOOST_TEST(!list[1].contains("secrets"));

  auto [show_status, shown] = call("GET", "/v1/webhooks/" + id);
  BOOST_TEST(show_status == 200);
  BOOST_TEST(!shown.contains("secrets"));
  BOOST_TEST(!shown.contains("secret"));
  BOOST_TEST(created.at("secret") == created.at("secrets")[0].at("secret"));
  auto expected = created;
  expected.erase("secrets");
  expected.erase("secret");
  BOOST_TEST(shown == expected);
  std::tie(show_status, shown) =
      call("GET", "/v1/webhooks/" + id + "?secrets=1");
  BOOST_TEST(shown == created);

  auto [removed, none] = call("DELETE", "/v1/webhooks/" + id);
  BOOST_TEST(removed == 204);
  BOOST_TEST(none.is_null());
  BOOST_TEST(changes == 3);
  BOOST_TEST(!sqlite->endpoint(id)->has_value());
  std::tie(removed, none) = call("DELETE", "/v1/webhooks/" + id);
  BOOST_TEST(removed == 404);
  BOOST_TEST(none.at("error").get<std::string>().find(id) != std::string::npos);
  BOOST_TEST(call("GET", "/v1/webhooks/" + id).first == 404);
  BOOST_TEST(changes == 3);
}

BOOST_FIXTURE_TEST_CASE(create_with_every_member, ApiFixture) {
  const auto secret = webhook::generate_secret();
  const auto created =
      create({{"url", "https://hooks.example.com/all"},
              {"events", {"message.new"}},
              {"filter", "user=*@example.com AND mailbox=INBOX"},
              {"description", "CRM"},
              {"timeout", "2500ms"},
              {"rate_limit", 2.5},
              {"concurrency", 2},
              {"batch_max", 50},
              {"batch_wait", "500ms"},
              {"secret", secret},
              {"enabled", false}});
  const auto endpoint = stored(created.at("id"));
  BOOST_TEST(endpoint.filter == "user=*@example.com AND mailbox=INBOX");
  BOOST_TEST(endpoint.description == "CRM");
  BOOST_TEST(endpoint.timeout.count() == 2500);
  BOOST_TEST(endpoint.rate_limit == 2.5);
  BOOST_TEST(endpoint.concurrency == 2u);
  BOOST_TEST(endpoint.batch_max == 50u);
  BOOST_TEST(endpoint.batch_wait.count() == 500);
  BOOST_TEST(!endpoint.enabled);
  BOOST_REQUIRE(endpoint.secrets.size() == 1u);
  BOOST_TEST(endpoint.secrets[0].value == secret);
  BOOST_TEST(created.at("timeout") == "2500ms");
  BOOST_TEST(created.at("batch_wait") == "500ms");
}

BOOST_FIXTURE_TEST_CASE(bad_input_is_refused_naming_the_member, ApiFixture) {
  const auto with = [](const char *key, const json &value) {
    auto body = k_minimal;
    body[key] = value;
    return body;
  };
  const std::vector<std::pair<json, std::string>> cases{
      {json::object(), "url: missing"},
      {json{{"url", "https://a.example"}}, "events: missing"},
      {json::array(), "expected a JSON object"},
      {with("url", "ftp://a.example/x"), "url: expected an http or https"},
      {with("url", "no url at all"), "url:"},
      {with("url", "https://:80/path"), "url: No host part"},
      {with("url", "http://a b.example/"), "url: "},
      {with("url", 7), "url: expected a string"},
      {with("url", "http://127.0.0.1:9/hook"), "url: "},
      {with("url", "http://[::1]/hook"), "url: "},
      {with("url", "http://10.1.2.3/hook"), "url: "},
      {with("url", "http://169.254.169.254/latest"), "url: "},
      {with("url", "http://[::ffff:127.0.0.1]/"), "url: "},
      {with("events", json::array()), "events: "},
      {with("events", "message.*"), "events: "},
      {with("events", {""}), "events: "},
      {with("events", {"message new"}), "events: "},
      {with("filter", "user="), "filter: at position "},
      {with("filter", "(user=a"), "filter: at position "},
      {with("secret", "whsec_short"), "secret: "},
      {with("secret", "not-a-secret"), "secret: "},
      {with("timeout", "0s"), "timeout: "},
      {with("timeout", "6m"), "timeout: "},
      {with("timeout", "15"), "timeout: "},
      {with("timeout", 15), "timeout: "},
      {with("rate_limit", -1), "rate_limit: "},
      {with("rate_limit", "5"), "rate_limit: "},
      {with("concurrency", 0), "concurrency: "},
      {with("concurrency", -2), "concurrency: "},
      {with("batch_max", 1.5), "batch_max: "},
      {with("batch_wait", "2m"), "batch_wait: "},
      {with("enabled", "yes"), "enabled: "},
      {with("description", "two\nlines"), "description: "},
      {with("rotate_secret", true), "unknown member \"rotate_secret\""},
      {with("bogus", 1), "unknown member \"bogus\""},
  };
  for (const auto &[body, error] : cases) {
    BOOST_TEST_CONTEXT(body.dump()) {
      const auto [status, answer] = call("POST", "/v1/webhooks", body);
      BOOST_TEST(status == 400);
      const auto text = answer.at("error").get<std::string>();
      BOOST_TEST(text.rfind(error, 0) == 0, text);
    }
  }
  auto client = this->client();
  const auto result =
      client.Post("/v1/webhooks", auth, "{not json", "application/json");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(sqlite->endpoints()->empty());
  BOOST_TEST(changes == 0);
}

BOOST_FIXTURE_TEST_CASE(urls_are_kept_as_libcurl_reads_them, ApiFixture) {
  // the numeric forms of a loopback address are refused as the address is
  const auto [status, answer] =
      call("POST", "/v1/webhooks",
           {{"url", "http://2130706433/"}, {"events", {"*"}}});
  BOOST_TEST(status == 400);
  BOOST_TEST(answer.at("error").get<std::string>().rfind("url: ", 0) == 0);
  const auto created =
      create({{"url", "HTTPS://Hooks.Example.com"}, {"events", {"*"}}});
  BOOST_TEST(created.at("url") == "https://Hooks.Example.com/");
}

BOOST_FIXTURE_TEST_CASE(allow_list_admits_loopback_targets, LoopbackAllowed) {
  const auto v4 =
      create({{"url", "http://127.0.0.1:9/hook"}, {"events", {"*"}}});
  BOOST_TEST(v4.at("url") == "http://127.0.0.1:9/hook");
  create({{"url", "http://[::1]:9/hook"}, {"events", {"*"}}});
  // what the list does not name stays refused
  const auto [status, answer] =
      call("POST", "/v1/webhooks",
           {{"url", "http://10.1.2.3/hook"}, {"events", {"*"}}});
  BOOST_TEST(status == 400);
  BOOST_TEST(answer.at("error").get<std::string>().rfind("url: ", 0) == 0);
}

BOOST_FIXTURE_TEST_CASE(update_changes_only_what_is_given, ApiFixture) {
  const auto created = create(k_minimal);
  const std::string id = created.at("id");
  const auto path = "/v1/webhooks/" + id;
  auto [status, answer] = call("PATCH", path,
                               {{"description", "new"},
                                {"events", {"message.new"}},
                                {"timeout", "5m"},
                                {"url", "https://other.example.com/x"}});
  BOOST_TEST(status == 200);
  BOOST_TEST(answer.at("description") == "new");
  BOOST_TEST(!answer.contains("secrets"));
  auto endpoint = stored(id);
  BOOST_TEST(endpoint.description == "new");
  BOOST_TEST(endpoint.event_types == std::vector<std::string>{"message.new"});
  BOOST_TEST(endpoint.timeout.count() == 300000);
  BOOST_TEST(endpoint.url == "https://other.example.com/x");
  BOOST_TEST(endpoint.secrets.size() == 1u);
  BOOST_TEST(endpoint.concurrency == 4u);
  BOOST_TEST(changes == 2);

  // a refused change changes nothing
  std::tie(status, answer) =
      call("PATCH", path, {{"description", "newer"}, {"filter", "a=1 AND"}});
  BOOST_TEST(status == 400);
  BOOST_TEST(answer.at("error").get<std::string>().rfind("filter: ", 0) == 0);
  std::tie(status, answer) = call("PATCH", path, {{"grace", "1h"}});
  BOOST_TEST(status == 400);
  BOOST_TEST(answer.at("error").get<std::string>().rfind("grace: ", 0) == 0);
  BOOST_TEST(stored(id).description == "new");
  BOOST_TEST(changes == 2);

  std::tie(status, answer) =
      call("PATCH", "/v1/webhooks/ep_unknown", {{"description", "x"}});
  BOOST_TEST(status == 404);
}

BOOST_FIXTURE_TEST_CASE(rotation_keeps_the_old_secret_for_the_grace,
                        ApiFixture) {
  const auto created = create(k_minimal);
  const std::string id = created.at("id");
  const std::string first = created["secrets"][0].at("secret");
  const auto path = "/v1/webhooks/" + id;
  const auto now = unix_seconds(Clock::now());

  auto [status, answer] = call("PATCH", path, {{"rotate_secret", true}});
  BOOST_TEST(status == 200);
  BOOST_REQUIRE(answer.at("secrets").size() == 2u);
  const std::string second = answer["secrets"][0].at("secret");
  BOOST_TEST(second != first);
  BOOST_TEST(bool(webhook::check_secret(second)));
  BOOST_TEST(answer["secrets"][0].at("expires").is_null());
  BOOST_TEST(answer["secrets"][1].at("secret") == first);
  // the default grace: a day
  const auto expires = answer["secrets"][1].at("expires").get<std::int64_t>();
  BOOST_TEST(expires >= now + 24 * 3600 - 60);
  BOOST_TEST(expires <= now + 24 * 3600 + 60);

  const auto given = webhook::generate_secret();
  std::tie(status, answer) =
      call("PATCH", path, {{"secret", given}, {"grace", "1h"}});
  BOOST_TEST(status == 200);
  auto endpoint = stored(id);
  BOOST_REQUIRE(endpoint.secrets.size() == 3u);
  BOOST_TEST(endpoint.secrets[0].value == given);
  BOOST_TEST((endpoint.secrets[0].expires == TimePoint{}));
  BOOST_TEST(endpoint.secrets[1].value == second);
  BOOST_TEST(unix_seconds(endpoint.secrets[1].expires) <= now + 3600 + 60);
  BOOST_TEST(unix_seconds(endpoint.secrets[1].expires) >= now + 3600 - 60);
  BOOST_TEST(endpoint.secrets[2].value == first);
  BOOST_TEST(unix_seconds(endpoint.secrets[2].expires) == expires);

  // a secret whose grace has passed is dropped at the next rotation
  endpoint.secrets[2].expires = Clock::now() - 1s;
  BOOST_REQUIRE(sqlite->put_endpoint(endpoint, true));
  std::tie(status, answer) =
      call("PATCH", path, {{"rotate_secret", true}, {"grace", "0s"}});
  BOOST_TEST(status == 200);
  endpoint = stored(id);
  BOOST_REQUIRE(endpoint.secrets.size() == 2u);
  BOOST_TEST(endpoint.secrets[0].value != given);
  BOOST_TEST(endpoint.secrets[1].value == second);
}

BOOST_FIXTURE_TEST_CASE(enable_starts_afresh, ApiFixture) {
  const std::string id = create(k_minimal).at("id");
  auto endpoint = stored(id);
  endpoint.enabled = false;
  endpoint.disabled_reason = "answered 410 Gone";
  endpoint.failing_since = Clock::now() - 1h;
  BOOST_REQUIRE(sqlite->put_endpoint(endpoint, true));
  auto [status, shown] = call("GET", "/v1/webhooks/" + id);
  BOOST_TEST(shown.at("enabled") == false);
  BOOST_TEST(shown.at("disabled_reason") == "answered 410 Gone");
  BOOST_TEST(shown.at("failing_since").is_number());

  auto [patched, answer] =
      call("PATCH", "/v1/webhooks/" + id, {{"enabled", true}});
  BOOST_TEST(patched == 200);
  BOOST_TEST(answer.at("enabled") == true);
  endpoint = stored(id);
  BOOST_TEST(endpoint.enabled);
  BOOST_TEST(endpoint.disabled_reason == "");
  BOOST_TEST((endpoint.failing_since == TimePoint{}));

  std::tie(patched, answer) =
      call("PATCH", "/v1/webhooks/" + id, {{"enabled", false}});
  BOOST_TEST(!stored(id).enabled);
  BOOST_TEST(stored(id).disabled_reason == "");
}

BOOST_FIXTURE_TEST_CASE(test_enqueues_a_webhook_test_delivery, ApiFixture) {
  const std::string id = create(k_minimal).at("id");
  auto [status, answer] = call("POST", "/v1/webhooks/" + id + "/test");
  BOOST_TEST(status == 202);
  const std::string delivery_id = answer.at("id");
  BOOST_TEST(delivery_id.rfind("msg_", 0) == 0);
  BOOST_TEST(changes == 2);
  const auto record = sqlite->delivery(delivery_id);
  BOOST_REQUIRE(record);
  BOOST_REQUIRE(record->has_value());
  const auto &delivery = (*record)->delivery;
  BOOST_TEST(delivery.endpoint_id == id);
  BOOST_TEST(delivery.event_type == "webhook.test");
  BOOST_TEST((delivery.state == DeliveryState::pending));
  BOOST_TEST((delivery.next_attempt <= Clock::now()));
  const auto body = json::parse(delivery.body);
  BOOST_TEST(body.at("type") == "webhook.test");
  BOOST_TEST(body.at("data").at("endpoint_id") == id);
  BOOST_TEST(*sqlite->pending() == 1u);

  BOOST_TEST(call("POST", "/v1/webhooks/ep_nothing/test").first == 404);
  BOOST_TEST(*sqlite->pending() == 1u);
}

BOOST_FIXTURE_TEST_CASE(delivery_log_and_redelivery, ApiFixture) {
  const std::string id = create(k_minimal).at("id");
  const auto created = Clock::now() - 10min;
  const auto delivery_id = failed_delivery(id, created);

  auto [status, log] =
      call("GET", "/v1/webhooks/" + id + "/deliveries?limit=5");
  BOOST_TEST(status == 200);
  BOOST_REQUIRE(log.size() == 1u);
  BOOST_TEST(log[0].at("id") == delivery_id);
  BOOST_TEST(log[0].at("endpoint_id") == id);
  BOOST_TEST(log[0].at("type") == "message.new");
  BOOST_TEST(log[0].at("state") == "failed");
  BOOST_TEST(log[0].at("created") == unix_seconds(created));
  BOOST_TEST(log[0].at("next_attempt").is_null());
  BOOST_TEST(!log[0].contains("body"));
  BOOST_REQUIRE(log[0].at("attempts").size() == 1u);
  const auto &attempt = log[0]["attempts"][0];
  BOOST_TEST(attempt.at("status") == 500);
  BOOST_TEST(attempt.at("latency_ms") == 120);
  BOOST_TEST(attempt.at("response") == "oops");
  BOOST_TEST(attempt.at("error") == "");
  BOOST_TEST(attempt.at("at").is_number());

  auto [one_status, one] = call("GET", "/v1/deliveries/" + delivery_id);
  BOOST_TEST(one_status == 200);
  BOOST_TEST(one.at("body") == R"({"type":"message.new"})");
  BOOST_TEST(one.at("attempts") == log[0].at("attempts"));

  auto [redelivered, answer] =
      call("POST", "/v1/deliveries/" + delivery_id + "/redeliver");
  BOOST_TEST(redelivered == 202);
  BOOST_TEST(answer.at("id") == delivery_id);
  BOOST_TEST(changes == 2);
  const auto record = sqlite->delivery(delivery_id);
  BOOST_TEST(((*record)->delivery.state == DeliveryState::pending));
  std::tie(one_status, one) = call("GET", "/v1/deliveries/" + delivery_id);
  BOOST_TEST(one.at("state") == "pending");
  BOOST_TEST(one.at("next_attempt").is_number());
  // the log stays
  BOOST_TEST(one.at("attempts").size() == 1u);

  BOOST_TEST(call("POST", "/v1/deliveries/msg_none/redeliver").first == 404);
  BOOST_TEST(call("GET", "/v1/deliveries/msg_none").first == 404);
  BOOST_TEST(call("GET", "/v1/webhooks/ep_none/deliveries").first == 404);
  BOOST_TEST(call("GET", "/v1/webhooks/" + id + "/deliveries?limit=0").first ==
             400);
  BOOST_TEST(call("GET", "/v1/webhooks/" + id + "/deliveries?limit=x").first ==
             400);
}

BOOST_FIXTURE_TEST_CASE(delivery_log_is_newest_first_and_limited, ApiFixture) {
  const std::string id = create(k_minimal).at("id");
  const auto now = Clock::now();
  failed_delivery(id, now - 3h);
  const auto newest = failed_delivery(id, now - 1h, false);
  auto [status, log] = call("GET", "/v1/webhooks/" + id + "/deliveries");
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST(log[0].at("id") == newest);
  BOOST_TEST(log[0].at("state") == "pending");
  BOOST_TEST(log[0].at("next_attempt").get<std::int64_t>() > unix_seconds(now));
  std::tie(status, log) =
      call("GET", "/v1/webhooks/" + id + "/deliveries?limit=1");
  BOOST_REQUIRE(log.size() == 1u);
  BOOST_TEST(log[0].at("id") == newest);
}

BOOST_FIXTURE_TEST_CASE(recover_a_time_range, ApiFixture) {
  const std::string id = create(k_minimal).at("id");
  const auto now = Clock::now();
  const auto old = failed_delivery(id, now - 5h);
  const auto recent = failed_delivery(id, now - 30min);
  const auto path = "/v1/webhooks/" + id + "/recover";
  const auto state = [this](const std::string &delivery) {
    return (*sqlite->delivery(delivery))->delivery.state;
  };

  auto [status, answer] = call("POST", path, {{"since", "2h"}});
  BOOST_TEST(status == 200);
  BOOST_TEST(answer == json({{"recovered", 1}}));
  BOOST_TEST((state(recent) == DeliveryState::pending));
  BOOST_TEST((state(old) == DeliveryState::failed));
  BOOST_TEST(changes == 2);

  // RFC 3339 with an offset, and Unix seconds
  const auto since = unix_seconds(now - 6h);
  char text[64];
  const std::time_t shifted = since + 2 * 3600;
  std::tm tm{};
  ::gmtime_r(&shifted, &tm);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S.250+02:00", &tm);
  std::tie(status, answer) =
      call("POST", path, {{"since", text}, {"until", unix_seconds(now - 4h)}});
  BOOST_TEST(status == 200, answer.dump());
  BOOST_TEST(answer == json({{"recovered", 1}}));
  BOOST_TEST((state(old) == DeliveryState::pending));

  for (const auto &body :
       {json::object(), json{{"since", "yesterday"}},
        json{{"since", "2024-13-01T00:00:00Z"}},
        json{{"since", "2024-05-01T00:00:00"}}, json{{"since", true}},
        json{{"since", "1h"}, {"until", "2h"}},
        json{{"since", "1h"}, {"when", "now"}}}) {
    BOOST_TEST_CONTEXT(body.dump()) {
      std::tie(status, answer) = call("POST", path, body);
      BOOST_TEST(status == 400);
    }
  }
  std::tie(status, answer) = call("POST", path, {{"since", "yesterday"}});
  BOOST_TEST(answer.at("error").get<std::string>().rfind("since: ", 0) == 0);
  BOOST_TEST(
      call("POST", "/v1/webhooks/ep_none/recover", {{"since", "1h"}}).first ==
      404);
}

BOOST_FIXTURE_TEST_CASE(store_failures_answer_503, ApiFixture) {
  const std::string id = create(k_minimal).at("id");
  const auto delivery_id = failed_delivery(id, Clock::now() - 1min);
  const int before = changes;
  store->failing = true;
  const std::vector<std::pair<std::string, std::string>> requests{
      {"POST", "/v1/webhooks"},
      {"GET", "/v1/webhooks"},
      {"GET", "/v1/webhooks/" + id},
      {"PATCH", "/v1/webhooks/" + id},
      {"DELETE", "/v1/webhooks/" + id},
      {"POST", "/v1/webhooks/" + id + "/test"},
      {"GET", "/v1/webhooks/" + id + "/deliveries"},
      {"POST", "/v1/webhooks/" + id + "/recover"},
      {"GET", "/v1/deliveries/" + delivery_id},
      {"POST", "/v1/deliveries/" + delivery_id + "/redeliver"},
  };
  for (const auto &[method, path] : requests) {
    BOOST_TEST_CONTEXT(method << " " << path) {
      json body = nullptr;
      if (path == "/v1/webhooks")
        body = k_minimal;
      else if (method == "PATCH")
        body = {{"description", "x"}};
      else if (path.find("/recover") != std::string::npos)
        body = {{"since", "1h"}};
      const auto [status, answer] = call(method, path, body);
      BOOST_TEST(status == 503);
      BOOST_TEST(answer.at("error").get<std::string>().find("switched off") !=
                 std::string::npos);
    }
  }
  BOOST_TEST(changes == before);
  store->failing = false;
  BOOST_TEST(stored(id).description == "");
}

// --- the dovewarden webhook commands ---

namespace {

// Parses a dovewarden command line (without the program name) into a
// WebhookCommand.
struct Parsed {
  CLI::App app{"test"};
  cli::WebhookCommand command{app};
  explicit Parsed(std::vector<std::string> args) {
    app.require_subcommand(1);
    std::reverse(args.begin(), args.end());
    app.parse(args);
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(a_filter_of_white_space_is_no_filter, ApiFixture) {
  auto body = k_minimal;
  body["filter"] = "   ";
  const auto created = create(body);
  BOOST_TEST(created.at("filter") == "");
  const auto stored = store->endpoint(created.at("id").get<std::string>());
  BOOST_REQUIRE(stored);
  BOOST_REQUIRE(stored->has_value());
  BOOST_TEST((*stored)->filter.empty());
}

BOOST_AUTO_TEST_CASE(add_options_become_the_request_body) {
  Parsed add({"webhook",       "add",
              "--url",         "https://h.example/x",
              "--events",      "message.*, flags.*,",
              "--filter",      "user=a*",
              "--timeout",     "5s",
              "--rate-limit",  "2.5",
              "--concurrency", "3",
              "--batch-max",   "10",
              "--batch-wait",  "500ms",
              "--description", "crm"});
  BOOST_TEST(add.command.chosen());
  const auto body = add.command.endpoint_body();
  BOOST_REQUIRE(body);
  BOOST_TEST(*body == json({{"url", "https://h.example/x"},
                            {"events", {"message.*", "flags.*"}},
                            {"filter", "user=a*"},
                            {"timeout", "5s"},
                            {"rate_limit", 2.5},
                            {"concurrency", 3},
                            {"batch_max", 10},
                            {"batch_wait", "500ms"},
                            {"description", "crm"}}));

  Parsed update({"webhook", "update", "ep_1", "--rotate-secret", "--grace",
                 "1h", "--filter", ""});
  BOOST_TEST(*update.command.endpoint_body() ==
             json({{"rotate_secret", true}, {"grace", "1h"}, {"filter", ""}}));
}

BOOST_AUTO_TEST_CASE(bad_command_lines_are_usage_failures) {
  BOOST_CHECK_THROW(Parsed({"webhook", "add", "--url", "https://h.example"}),
                    CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook", "add", "--url", "https://h.example",
                            "--events", "*", "--timeout", "15"}),
                    CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook", "deliveries", "ep_1", "--limit", "0"}),
                    CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook", "recover", "ep_1"}), CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook"}), CLI::ParseError);

  Parsed nothing({"webhook", "update", "ep_1"});
  auto body = nothing.command.endpoint_body();
  BOOST_REQUIRE(!body);
  BOOST_TEST(body.error().exit_code == cli::k_exit_usage);
  Parsed grace({"webhook", "update", "ep_1", "--grace", "1h"});
  BOOST_TEST(grace.command.endpoint_body().error().message.find("--grace") !=
             std::string::npos);
  Parsed no_events({"webhook", "add", "--url", "u", "--events", ", ,"});
  BOOST_TEST(no_events.command.endpoint_body().error().exit_code ==
             cli::k_exit_usage);
}

BOOST_AUTO_TEST_CASE(time_as_rfc_3339) {
  BOOST_TEST(cli::format_time(std::nullopt) == "-");
  BOOST_TEST(cli::format_time(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(cli::format_time(1714564800) == "2024-05-01T12:00:00Z");
}

BOOST_AUTO_TEST_CASE(endpoint_tables) {
  const auto endpoints = json::parse(R"([
    {"id":"ep_a","url":"https://a.example/x","events":["message.*","flags.*"],
     "filter":"","description":"","timeout":"15s","rate_limit":0,
     "concurrency":4,"batch_max":1,"batch_wait":"0s","enabled":true,
     "disabled_reason":"","created":1714564800,"updated":1714564800,
     "failing_since":null},
    {"id":"ep_b","url":"http://b.example/","events":["*"],
     "filter":"user=a*","description":"crm","timeout":"5s","rate_limit":2.5,
     "concurrency":2,"batch_max":10,"batch_wait":"500ms","enabled":false,
     "disabled_reason":"answered 410","created":1714564800,
     "updated":1714568400,"failing_since":1714564860,
     "secrets":[{"secret":"whsec_new","expires":null},
                {"secret":"whsec_old","expires":1714651200}]}])");
  BOOST_TEST(cli::format_endpoints(endpoints) ==
             "id    url                  events             state         "
             "          failing since\n"
             "ep_a  https://a.example/x  message.*,flags.*  enabled       "
             "          -\n"
             "ep_b  http://b.example/    *                  disabled: answered "
             "410  2024-05-01T12:01:00Z\n");
  BOOST_TEST(cli::format_endpoint(endpoints[1]) ==
             "id             ep_b\n"
             "url            http://b.example/\n"
             "events         *\n"
             "filter         user=a*\n"
             "description    crm\n"
             "state          disabled: answered 410\n"
             "timeout        5s\n"
             "rate limit     2.5/s\n"
             "concurrency    2\n"
             "batch          10 events or 500ms\n"
             "created        2024-05-01T12:00:00Z\n"
             "updated        2024-05-01T13:00:00Z\n"
             "failing since  2024-05-01T12:01:00Z\n"
             "secret         whsec_new\n"
             "secret         whsec_old  (until 2024-05-02T12:00:00Z)\n");
  BOOST_CHECK_THROW(cli::format_endpoints(json::parse(R"([{"id":"x"}])")),
                    json::exception);
}

BOOST_AUTO_TEST_CASE(delivery_table_has_a_line_per_attempt) {
  const auto deliveries = json::parse(R"([
    {"id":"msg_b","endpoint_id":"ep_a","type":"message.new","events":1,
     "state":"pending","created":1714564800,"next_attempt":1714565100,
     "attempts":[
       {"at":1714564800,"status":500,"latency_ms":120,"error":"",
        "response":"internal\nerror"},
       {"at":1714564805,"status":0,"latency_ms":15000,
        "error":"timed out","response":""}]},
    {"id":"msg_a","endpoint_id":"ep_a","type":"webhook.test","events":1,
     "state":"pending","created":1714564700,"next_attempt":null,
     "attempts":[]}])");
  BOOST_TEST(cli::format_deliveries(deliveries) ==
             "delivery  type          state    time                  status  "
             "latency  response\n"
             "msg_b     message.new   pending  2024-05-01T12:00:00Z  500     "
             "120ms    internal error\n"
             "                                 2024-05-01T12:00:05Z  -       "
             "15000ms  timed out\n"
             "                                 2024-05-01T12:05:00Z  next\n"
             "msg_a     webhook.test  pending  -\n");
}

BOOST_FIXTURE_TEST_CASE(dovewarden_webhook_against_the_server, ApiFixture) {
  const std::string binary = DOVEWARDEN_TOP_BUILDDIR "/cli/dovewarden";
  BOOST_REQUIRE_MESSAGE(::access(binary.c_str(), X_OK) == 0,
                        binary + " is not built");
  const auto config = dir.path() + "/config";
  std::ofstream(config) << "DOVEWARDEN_ADMIN_ADDR=127.0.0.1:" << port
                        << "\nDOVEWARDEN_ADMIN_TOKEN=" << k_token << "\n";
  // runs the command with a clean environment; returns its exit code and
  // stdout (stderr is appended)
  const auto run = [&](const std::string &args) {
    const auto command =
        "env -i " + binary + " --config " + config + " " + args + " 2>&1";
    FILE *pipe = ::popen(command.c_str(), "r");
    BOOST_REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
      output.append(buffer, got);
    const int status = ::pclose(pipe);
    BOOST_REQUIRE(WIFEXITED(status));
    return std::make_pair(WEXITSTATUS(status), output);
  };

  auto [code, output] =
      run("webhook add --url https://h.example/in --events 'message.*,flags.*'"
          " --filter 'user=*@example.com' --timeout 5s");
  BOOST_TEST(code == 0, output);
  const auto endpoints = *sqlite->endpoints();
  BOOST_REQUIRE(endpoints.size() == 1u);
  const auto &endpoint = endpoints[0];
  BOOST_TEST(output == "id      " + endpoint.id + "\nsecret  " +
                           endpoint.secrets[0].value + "\n");
  BOOST_TEST(endpoint.filter == "user=*@example.com");
  BOOST_TEST(endpoint.timeout.count() == 5000);
  const auto id = endpoint.id;

  std::tie(code, output) = run("webhook list");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find(id + "  https://h.example/in  message.*,flags.*  "
                              "enabled") != std::string::npos,
             output);
  std::tie(code, output) = run("webhook show " + id);
  BOOST_TEST(output.find("whsec_") == std::string::npos);
  std::tie(code, output) = run("webhook show --json " + id + " --secret");
  BOOST_TEST(code == 0);
  BOOST_TEST(json::parse(output).at("secrets").size() == 1u);

  std::tie(code, output) = run("webhook update " + id + " --rotate-secret");
  BOOST_TEST(code == 0);
  BOOST_TEST(stored(id).secrets.size() == 2u);
  BOOST_TEST(output.find("secret         " + stored(id).secrets[0].value) !=
             std::string::npos);
  std::tie(code, output) = run("webhook update " + id + " --filter 'user='");
  BOOST_TEST(code == 64);
  BOOST_TEST(output.rfind("dovewarden: filter: at position ", 0) == 0, output);

  std::tie(code, output) = run("webhook disable " + id);
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "");
  BOOST_TEST(!stored(id).enabled);
  std::tie(code, output) = run("webhook enable " + id);
  BOOST_TEST(stored(id).enabled);

  std::tie(code, output) = run("webhook test " + id);
  BOOST_TEST(code == 0);
  BOOST_TEST(output.rfind("msg_", 0) == 0);
  const auto test_id = output.substr(0, output.size() - 1);
  std::tie(code, output) = run("webhook deliveries " + id + " --limit 5");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find(test_id + "  webhook.test  pending") !=
                 std::string::npos,
             output);

  const auto failed = failed_delivery(id, Clock::now() - 30min);
  std::tie(code, output) = run("webhook recover " + id + " --since 1h");
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "1 deliveries pending again\n");
  std::tie(code, output) = run("webhook redeliver " + failed);
  BOOST_TEST(code == 0);
  std::tie(code, output) = run("webhook redeliver msg_none");
  BOOST_TEST(code == 67);

  std::tie(code, output) = run("webhook rm " + id);
  BOOST_TEST(code == 0);
  BOOST_TEST(sqlite->endpoints()->empty());
  std::tie(code, output) = run("webhook rm " + id);
  BOOST_TEST(code == 67);
  BOOST_TEST(output.rfind("dovewarden: unknown endpoint", 0) == 0);
  std::tie(code, output) = run("webhook add --url https://h.example");
  BOOST_TEST(code == 64);
  store->failing = true;
  std::tie(code, output) = run("webhook list");
  BOOST_TEST(code == 69);
}

BOOST_AUTO_TEST_SUITE_END()
