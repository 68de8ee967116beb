#include "webhook/StoredEndpoint.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;

namespace {

TimePoint at_ms(std::int64_t ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

// An endpoint with no field at its default.
Endpoint every_field_set() {
  Endpoint endpoint;
  endpoint.id = "ep_4bT0mQx7cR2vN9kLp3sWz1";
  endpoint.url = "https://hooks.example.com/in?token=a%20b";
  endpoint.event_types = {"message.*", "flags.*"};
  endpoint.filter = "user=alice* AND mailbox=INBOX";
  endpoint.description = "crm \"sync\"\nsecond line";
  endpoint.timeout = 5s;
  endpoint.rate_limit = 2.5;
  endpoint.concurrency = 7;
  endpoint.batch_max = 50;
  endpoint.batch_wait = 250ms;
  endpoint.enabled = false;
  endpoint.disabled_reason = "answered 410";
  endpoint.secrets = {{"whsec_new", TimePoint{}},
                      {"whsec_old", at_ms(1714651200123)}};
  endpoint.created = at_ms(1714564800001);
  endpoint.updated = at_ms(1714568400002);
  return endpoint;
}

} // namespace

BOOST_AUTO_TEST_SUITE(stored_endpoint)

BOOST_AUTO_TEST_CASE(every_field_comes_back_as_it_was_stored) {
  const auto endpoint = every_field_set();
  const auto decoded = decode_endpoint(encode_endpoint(endpoint));
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->id == endpoint.id);
  BOOST_TEST(decoded->url == endpoint.url);
  BOOST_TEST(decoded->event_types == endpoint.event_types,
             boost::test_tools::per_element());
  BOOST_TEST(decoded->filter == endpoint.filter);
  BOOST_TEST(decoded->description == endpoint.description);
  BOOST_TEST(decoded->timeout.count() == 5000);
  BOOST_TEST(decoded->rate_limit == 2.5);
  BOOST_TEST(decoded->concurrency == 7u);
  BOOST_TEST(decoded->batch_max == 50u);
  BOOST_TEST(decoded->batch_wait.count() == 250);
  BOOST_TEST(!decoded->enabled);
  BOOST_TEST(decoded->disabled_reason == "answered 410");
  BOOST_REQUIRE(decoded->secrets.size() == 2u);
  BOOST_TEST(decoded->secrets[0].value == "whsec_new");
  BOOST_TEST((decoded->secrets[0].expires == TimePoint{}));
  BOOST_TEST(decoded->secrets[1].value == "whsec_old");
  BOOST_TEST((decoded->secrets[1].expires == at_ms(1714651200123)));
  BOOST_TEST((decoded->created == endpoint.created));
  BOOST_TEST((decoded->updated == endpoint.updated));
}

BOOST_AUTO_TEST_CASE(failing_since_is_not_part_of_it) {
  auto endpoint = every_field_set();
  const auto before = encode_endpoint(endpoint);
  endpoint.failing_since = at_ms(1714564860000);
  // the stores keep it apart, where a finished delivery changes it alone
  BOOST_TEST(encode_endpoint(endpoint) == before);
  const auto decoded = decode_endpoint(before);
  BOOST_REQUIRE(decoded);
  BOOST_TEST((decoded->failing_since == TimePoint{}));
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf_8_is_kept_with_replacements) {
  auto endpoint = every_field_set();
  endpoint.description = "caf\xe9 \xff";
  const auto decoded = decode_endpoint(encode_endpoint(endpoint));
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->description == "caf\xef\xbf\xbd \xef\xbf\xbd");
}

BOOST_AUTO_TEST_CASE(a_missing_field_takes_its_default) {
  // as an endpoint stored before a field existed reads back
  const auto decoded = decode_endpoint(R"({"id":"ep_old"})");
  BOOST_REQUIRE(decoded);
  const Endpoint defaults;
  BOOST_TEST(decoded->id == "ep_old");
  BOOST_TEST(decoded->url == "");
  BOOST_TEST(decoded->event_types.empty());
  BOOST_TEST(decoded->timeout.count() == defaults.timeout.count());
  BOOST_TEST(decoded->rate_limit == defaults.rate_limit);
  BOOST_TEST(decoded->concurrency == defaults.concurrency);
  BOOST_TEST(decoded->batch_max == defaults.batch_max);
  BOOST_TEST(decoded->batch_wait.count() == defaults.batch_wait.count());
  BOOST_TEST(decoded->enabled);
  BOOST_TEST(decoded->secrets.empty());
  BOOST_TEST((decoded->created == TimePoint{}));
}

BOOST_AUTO_TEST_CASE(text_that_is_no_stored_endpoint_is_refused) {
  for (const char *text :
       {"", "not json", "[]", R"({"url":"https://h.example/"})", R"({"id":7})",
        R"({"id":"ep_x","timeout_ms":"15s"})",
        R"({"id":"ep_x","secrets":[{"expires":0}]})",
        R"({"id":"ep_x","enabled":"yes"})"}) {
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(!decode_endpoint(text)); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
