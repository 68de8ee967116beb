#include "webhook/EndpointQueues.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using Steady = EndpointQueues::Steady;

namespace {

const Steady::time_point k_now{1h};

Endpoint endpoint(const std::string &id, unsigned concurrency = 2,
                  double rate_limit = 0) {
  Endpoint endpoint;
  endpoint.id = id;
  endpoint.timeout = 10s;
  endpoint.concurrency = concurrency;
  endpoint.rate_limit = rate_limit;
  return endpoint;
}

Held held(const std::string &endpoint_id, int n, std::uint64_t claim = 1,
          Steady::time_point lease_end = k_now + 1min) {
  Held held;
  held.delivery.id = "msg_" + endpoint_id + std::to_string(n);
  held.delivery.endpoint_id = endpoint_id;
  held.claim = claim;
  held.lease_end = lease_end;
  return held;
}

// Queues whose starts and put-backs the test sees.
struct Fixture {
  std::vector<std::string> started;    // delivery ids
  std::vector<std::uint64_t> put_back; // claims
  EndpointQueues queues{
      8, [this](std::uint64_t claim) { put_back.push_back(claim); }};

  Steady::duration start_ready(Steady::time_point now = k_now) {
    return queues.start_ready(now, [this](const Endpoint &, Held held) {
      started.push_back(held.delivery.id);
    });
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(endpoint_queues, Fixture)

BOOST_AUTO_TEST_CASE(starts_no_more_than_an_endpoints_concurrency) {
  queues.take(1, {endpoint("a", 2)});
  for (int n = 0; n < 3; n++)
    BOOST_TEST(queues.hold(held("a", n)));
  start_ready();
  BOOST_TEST(started == (std::vector<std::string>{"msg_a0", "msg_a1"}));
  BOOST_TEST(queues.in_flight() == 2u);
  start_ready();
  BOOST_TEST(started.size() == 2u);
  queues.ended("a");
  start_ready();
  BOOST_TEST(started.back() == "msg_a2");
}

BOOST_AUTO_TEST_CASE(starts_no_more_than_max_in_flight_in_all) {
  EndpointQueues narrow(3, [](std::uint64_t) {});
  narrow.take(1, {endpoint("a", 2), endpoint("b", 2)});
  for (int n = 0; n < 2; n++) {
    narrow.hold(held("a", n));
    narrow.hold(held("b", n));
  }
  int starts = 0;
  narrow.start_ready(k_now, [&](const Endpoint &, Held) { starts++; });
  BOOST_TEST(starts == 3);
  BOOST_TEST(narrow.in_flight() == 3u);
}

BOOST_AUTO_TEST_CASE(holds_nothing_for_an_unknown_or_disabled_endpoint) {
  auto off = endpoint("off");
  off.enabled = false;
  queues.take(1, {endpoint("a"), off});
  BOOST_TEST(queues.knows("a"));
  BOOST_TEST(!queues.knows("gone"));
  BOOST_TEST(!queues.hold(held("gone", 0)));
  BOOST_TEST(!queues.hold(held("off", 0)));
  start_ready();
  BOOST_TEST(started.empty());
}

BOOST_AUTO_TEST_CASE(an_endpoint_holds_two_rounds_at_most) {
  queues.take(1, {endpoint("a", 2)});
  for (int n = 0; n < 4; n++)
    BOOST_TEST(queues.hold(held("a", n)));
  BOOST_TEST(!queues.hold(held("a", 4)));
}

BOOST_AUTO_TEST_CASE(a_delivery_that_could_outlive_its_lease_is_put_back) {
  queues.take(1, {endpoint("a")}); // timeout 10s
  queues.hold(held("a", 0, 7, k_now + 10s + EndpointQueues::k_lease_slack));
  queues.hold(held("a", 1, 8, k_now + 1min));
  start_ready();
  BOOST_TEST(put_back == std::vector<std::uint64_t>{7});
  BOOST_TEST(started == std::vector<std::string>{"msg_a1"});
}

BOOST_AUTO_TEST_CASE(a_rate_limit_spaces_the_starts) {
  queues.take(1, {endpoint("a", 4, 2)}); // a burst of 2, then one per 500ms
  for (int n = 0; n < 3; n++)
    queues.hold(held("a", n));
  const auto wait = start_ready();
  BOOST_TEST(started.size() == 2u);
  BOOST_TEST((wait == 500ms));
  start_ready(k_now + 499ms);
  BOOST_TEST(started.size() == 2u);
  BOOST_TEST((start_ready(k_now + 500ms) == Steady::duration::max()));
  BOOST_TEST(started.size() == 3u);
}

BOOST_AUTO_TEST_CASE(endpoints_taken_again_put_back_what_is_no_longer_wanted) {
  queues.take(1, {endpoint("a"), endpoint("b"), endpoint("c")});
  queues.hold(held("a", 0, 1));
  queues.hold(held("b", 0, 2));
  queues.hold(held("c", 0, 3));
  auto off = endpoint("b");
  off.enabled = false;
  queues.take(2, {off, endpoint("c")});
  std::sort(put_back.begin(), put_back.end());
  BOOST_TEST(put_back == (std::vector<std::uint64_t>{1, 2}),
             "a removed, b disabled");
  BOOST_TEST(queues.version().value_or(0) == 2u);
  start_ready();
  BOOST_TEST(started == std::vector<std::string>{"msg_c0"});
}

BOOST_AUTO_TEST_CASE(disable_puts_back_what_the_endpoint_holds) {
  queues.take(1, {endpoint("a")});
  queues.hold(held("a", 0, 4));
  queues.disable("a");
  BOOST_TEST(put_back == std::vector<std::uint64_t>{4});
  BOOST_TEST(queues.enabled() == 0u);
  BOOST_TEST(queues.size() == 1u);
  BOOST_TEST(!queues.hold(held("a", 1)));
}

BOOST_AUTO_TEST_CASE(put_back_all_empties_every_queue) {
  queues.take(1, {endpoint("a"), endpoint("b")});
  queues.hold(held("a", 0, 1));
  queues.hold(held("b", 0, 2));
  queues.put_back_all();
  BOOST_TEST(put_back.size() == 2u);
  start_ready();
  BOOST_TEST(started.empty());
}

BOOST_AUTO_TEST_CASE(a_single_endpoint_is_claimed_for_what_it_may_hold) {
  queues.take(1, {endpoint("a", 2)});
  auto size = queues.claim_size(64);
  BOOST_TEST(size.max == 4u);
  BOOST_TEST(size.per_endpoint == 4u);
  queues.hold(held("a", 0));
  size = queues.claim_size(64);
  BOOST_TEST(size.max == 3u);
}

BOOST_AUTO_TEST_CASE(several_endpoints_are_claimed_for_up_to_the_window) {
  // max_in_flight 8: up to 24 held and in flight
  queues.take(1, {endpoint("a", 2), endpoint("b", 3)});
  auto size = queues.claim_size(64);
  BOOST_TEST(size.max == 24u);
  BOOST_TEST(size.per_endpoint == 6u);
  BOOST_TEST(queues.claim_size(10).max == 10u);
  BOOST_TEST(!queues.full());
}

BOOST_AUTO_TEST_CASE(full_when_the_window_is_held_or_in_flight) {
  EndpointQueues one(1, [](std::uint64_t) {});
  one.take(1, {endpoint("a", 1), endpoint("b", 1)});
  one.hold(held("a", 0));
  one.hold(held("a", 1));
  BOOST_TEST(!one.full());
  one.hold(held("b", 0));
  BOOST_TEST(one.full());
  BOOST_TEST(one.claim_size(64).max == 0u);
}

BOOST_AUTO_TEST_CASE(the_longest_timeout_sizes_the_lease) {
  BOOST_TEST(queues.longest_timeout().count() == 0);
  auto slow = endpoint("slow");
  slow.timeout = 45s;
  queues.take(1, {endpoint("a"), slow});
  BOOST_TEST((queues.longest_timeout() == 45s));
}

BOOST_AUTO_TEST_SUITE_END()
