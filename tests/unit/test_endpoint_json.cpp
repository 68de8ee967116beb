#include "webhook/AddressPolicy.hpp"
#include "webhook/EndpointJson.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const AddressPolicy k_policy;

// Returns why body is refused, "" if it is not.
std::string refusal(const json &body, bool patch = false) {
  Endpoint endpoint;
  const auto applied = apply_endpoint_json(body, endpoint, k_policy, patch);
  return applied ? "" : applied.error();
}

} // namespace

BOOST_AUTO_TEST_SUITE(endpoint_json)

BOOST_AUTO_TEST_CASE(shows_every_field_and_the_secrets_only_when_asked) {
  Endpoint endpoint;
  endpoint.id = "ep_1";
  endpoint.url = "https://hooks.example/in";
  endpoint.event_types = {"message.*"};
  endpoint.timeout = 15s;
  endpoint.batch_wait = 500ms;
  endpoint.created = Clock::from_time_t(1445412480);
  endpoint.secrets = {Secret{"whsec_new", {}},
                      Secret{"whsec_old", Clock::from_time_t(1445416080)}};
  const auto shown = dovewarden::webhook::endpoint_json(endpoint, false);
  BOOST_TEST(shown["id"] == "ep_1");
  BOOST_TEST(shown["url"] == "https://hooks.example/in");
  BOOST_TEST(shown["events"] == json::array({"message.*"}));
  BOOST_TEST(shown["timeout"] == "15s");
  BOOST_TEST(shown["batch_wait"] == "500ms");
  BOOST_TEST(shown["enabled"] == true);
  BOOST_TEST(shown["created"] == 1445412480);
  BOOST_TEST(shown["failing_since"].is_null());
  BOOST_TEST(!shown.contains("secret"));
  BOOST_TEST(!shown.contains("secrets"));

  const auto secret = dovewarden::webhook::endpoint_json(endpoint, true);
  BOOST_TEST(secret["secret"] == "whsec_new");
  BOOST_REQUIRE_EQUAL(secret["secrets"].size(), 2u);
  BOOST_TEST(secret["secrets"][0]["expires"].is_null());
  BOOST_TEST(secret["secrets"][1]["expires"] == 1445416080);
}

BOOST_AUTO_TEST_CASE(applies_the_members_of_a_body) {
  Endpoint endpoint;
  const auto extras =
      apply_endpoint_json(json{{"url", "https://hooks.example/in"},
                               {"events", {"message.*", "mailbox.create"}},
                               {"filter", "  "},
                               {"description", "CRM"},
                               {"timeout", "2s"},
                               {"rate_limit", 2.5},
                               {"concurrency", 3u},
                               {"batch_max", 10u},
                               {"batch_wait", "250ms"},
                               {"enabled", false}},
                          endpoint, k_policy, false);
  BOOST_REQUIRE_MESSAGE(extras.has_value(), extras.error());
  BOOST_TEST(endpoint.url == "https://hooks.example/in");
  BOOST_TEST(endpoint.event_types.size() == 2u);
  BOOST_TEST(endpoint.filter == "", "white space only is no filter");
  BOOST_TEST(endpoint.description == "CRM");
  BOOST_TEST((endpoint.timeout == 2s));
  BOOST_TEST(endpoint.rate_limit == 2.5);
  BOOST_TEST(endpoint.concurrency == 3u);
  BOOST_TEST(endpoint.batch_max == 10u);
  BOOST_TEST((endpoint.batch_wait == 250ms));
  BOOST_TEST(extras->enabled.value_or(true) == false);
  BOOST_TEST(!extras->secret);
  BOOST_TEST(!extras->rotate);
}

BOOST_AUTO_TEST_CASE(unknown_types_and_fields_are_refused_with_the_nearest) {
  BOOST_TEST(refusal(json{{"events", {"message.*", "mesage.new"}}}) ==
             "events: unknown event type 'mesage.new'; did you mean "
             "'message.new'?");
  BOOST_TEST(refusal(json{{"events", {"mesage.*"}}}) ==
             "events: unknown event type 'mesage.*'; did you mean "
             "'message.*'?");
  BOOST_TEST(refusal(json{{"events", {"bogus.thing"}}}) ==
             "events: unknown event type 'bogus.thing'");
  BOOST_TEST(refusal(json{{"events", {"imap_comand_finished"}}}) ==
             "events: unknown event type 'imap_comand_finished'; did you "
             "mean 'imap_command_finished'?");
  BOOST_TEST(refusal(json{{"filter", "User=alice"}}) ==
             "filter: unknown filter field 'User'; did you mean 'user'?");
  BOOST_TEST(refusal(json{{"filter", "event=message.* AND (mailbox=INBOX "
                                     "OR NOT mailbx=Sent)"}}) ==
             "filter: unknown filter field 'mailbx'; did you mean "
             "'mailbox'?");
  // globs that match some type, and Dovecot's own names from event_exporter
  for (const auto *events :
       {"*", "message.*", "*.create", "message.open", "webhook.test",
        "pop3_command_finished", "smtp_server_transaction_finished"}) {
    Endpoint endpoint;
    const auto applied = apply_endpoint_json(
        json{{"events", {events}},
             {"filter", "user=alice AND source=zmq AND net_out_bytes>1"}},
        endpoint, k_policy, true);
    BOOST_TEST(applied.has_value(), events);
  }
}

BOOST_AUTO_TEST_CASE(fields_outside_the_catalogue_need_dovecot_events) {
  // dovewarden's own events carry the catalogue's fields alone
  BOOST_TEST(
      refusal(json{{"events", {"message.new"}}, {"filter", "foo=bar"}}) ==
      "filter: unknown filter field 'foo'");
  BOOST_TEST(refusal(json{{"events", {"message.new"}},
                          {"filter", "mailboxes=INBOX"}}) ==
             "filter: unknown filter field 'mailboxes'; did you mean "
             "'mailbox'?");
  // Dovecot's own, from event_exporter, carry fields no list holds
  for (const auto *events : {"*", "imap_command_finished", "mail_delivery_*"}) {
    Endpoint endpoint;
    const auto applied =
        apply_endpoint_json(json{{"events", {events}}, {"filter", "foo=bar"}},
                            endpoint, k_policy, false);
    BOOST_TEST(applied.has_value(), events);
  }
  // a PATCH is judged by the types the endpoint has after it
  Endpoint endpoint;
  BOOST_REQUIRE(apply_endpoint_json(
      json{{"events", {"*"}}, {"filter", "foo=bar AND net_out_bytes>1"}},
      endpoint, k_policy, false));
  const auto narrowed = apply_endpoint_json(json{{"events", {"message.*"}}},
                                            endpoint, k_policy, true);
  BOOST_REQUIRE(!narrowed.has_value());
  BOOST_TEST(narrowed.error().rfind("filter: unknown filter field 'foo'", 0) ==
                 0,
             narrowed.error());
}

BOOST_AUTO_TEST_CASE(a_patch_may_rotate_the_secret_and_a_post_may_not) {
  Endpoint endpoint;
  const auto extras = apply_endpoint_json(
      json{{"rotate_secret", true}, {"grace", "1h"}}, endpoint, k_policy, true);
  BOOST_REQUIRE(extras.has_value());
  BOOST_TEST(extras->rotate);
  BOOST_TEST((extras->grace == 1h));
  BOOST_TEST(refusal(json{{"rotate_secret", true}}) ==
             R"(unknown member "rotate_secret")");
  BOOST_TEST(refusal(json{{"grace", "1h"}}) == R"(unknown member "grace")");
  BOOST_TEST(refusal(json{{"grace", "1h"}}, true) ==
             "grace: only with rotate_secret or secret");
}

BOOST_AUTO_TEST_CASE(the_first_member_refused_says_why) {
  BOOST_TEST(refusal(json::array()) == "expected a JSON object");
  BOOST_TEST(refusal(json{{"colour", "red"}}) == R"(unknown member "colour")");
  BOOST_TEST(refusal(json{{"url", 5}}) == "url: expected a string");
  BOOST_TEST(refusal(json{{"url", "http://10.0.0.1/"}}) ==
             "url: 10.0.0.1 is a private address "
             "(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)");
  BOOST_TEST(refusal(json{{"events", json::array()}}) ==
             "events: expected a non-empty array of type globs");
  BOOST_TEST(refusal(json{{"events", {"message new"}}}) ==
             R"(events: "message new" is not a type glob (e.g. message.*))");
  BOOST_TEST(refusal(json{{"filter", "((("}}).rfind("filter: ", 0) == 0u);
  BOOST_TEST(refusal(json{{"description", "a\nb"}}) ==
             "description: contains control characters");
  BOOST_TEST(refusal(json{{"timeout", "10m"}}) ==
             "timeout: must be from 1ms to 5m");
  BOOST_TEST(refusal(json{{"timeout", 5}}) ==
             R"(timeout: expected a duration such as "15s")");
  BOOST_TEST(refusal(json{{"rate_limit", -1}}) ==
             "rate_limit: expected requests per second from 0 (unlimited) "
             "to 1000000");
  BOOST_TEST(refusal(json{{"concurrency", 0}}) ==
             "concurrency: expected a whole number from 1 to 1000");
  BOOST_TEST(refusal(json{{"secret", "short"}}).rfind("secret: ", 0) == 0u);
  BOOST_TEST(refusal(json{{"enabled", "yes"}}) ==
             "enabled: expected true or false");
}

BOOST_AUTO_TEST_SUITE_END()
