#include "WebhookApiFixture.hpp"
#include "admin/WebhookApi.hpp"
#include "webhook/Signature.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace dovewarden;
using namespace std::chrono_literals;
using nlohmann::json;
using webhook::Clock;
using webhook::DeliveryState;
using webhook::TimePoint;

namespace {

using ApiFixture = test::WebhookApiFixture;

std::int64_t unix_seconds(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             time.time_since_epoch())
      .count();
}

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
  expected.erase("warnings"); // of the answer, not the endpoint
  auto with_secrets = expected;
  expected.erase("secrets");
  expected.erase("secret");
  BOOST_TEST(shown == expected);
  std::tie(show_status, shown) =
      call("GET", "/v1/webhooks/" + id + "?secrets=1");
  BOOST_TEST(shown == with_secrets);

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
      {with("events", {"mesage.new"}),
       "events: unknown event type 'mesage.new'; did you mean 'message.new'?"},
      {with("filter", "User=alice"),
       "filter: unknown filter field 'User'; did you mean 'user'?"},
      {with("url", "http://localhost:9/hook"), "url: localhost: "},
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

BOOST_FIXTURE_TEST_CASE(host_names_are_judged_at_add_and_update, ApiFixture) {
  // .invalid never resolves (RFC 6761): accepted, with a warning
  const auto created =
      create({{"url", "https://dw-nowhere.invalid/in"}, {"events", {"*"}}});
  const auto id = created.at("id").get<std::string>();
  BOOST_REQUIRE(created.contains("warnings"));
  BOOST_TEST(created.at("warnings")[0].get<std::string>().rfind(
                 "url: dw-nowhere.invalid does not resolve now (", 0) == 0u);
  // a name of loopback addresses is refused as 127.0.0.1 is
  auto [status, answer] =
      call("PATCH", "/v1/webhooks/" + id, {{"url", "http://localhost:9/hook"}});
  BOOST_TEST(status == 400);
  const auto error = answer.at("error").get<std::string>();
  BOOST_TEST(error.rfind("url: localhost: ", 0) == 0u, error);
  BOOST_TEST(error.find("(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)") !=
                 std::string::npos,
             error);
  BOOST_TEST(stored(id).url == "https://dw-nowhere.invalid/in");
  // an update that leaves the URL alone resolves nothing
  std::tie(status, answer) =
      call("PATCH", "/v1/webhooks/" + id, {{"description", "x"}});
  BOOST_TEST(status == 200);
  BOOST_TEST(!answer.contains("warnings"));
}

BOOST_FIXTURE_TEST_CASE(allow_list_admits_loopback_targets, LoopbackAllowed) {
  const auto v4 =
      create({{"url", "http://127.0.0.1:9/hook"}, {"events", {"*"}}});
  BOOST_TEST(v4.at("url") == "http://127.0.0.1:9/hook");
  create({{"url", "http://[::1]:9/hook"}, {"events", {"*"}}});
  const auto by_name =
      create({{"url", "http://localhost:9/hook"}, {"events", {"*"}}});
  BOOST_TEST(!by_name.contains("warnings"));
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

BOOST_AUTO_TEST_SUITE_END()
