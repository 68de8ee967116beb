#include "webhook/DeliveryJson.hpp"

#include <boost/test/unit_test.hpp>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;

namespace {

const TimePoint k_created = Clock::from_time_t(1445412480);

DeliveryRecord record(DeliveryState state) {
  DeliveryRecord record;
  record.delivery.id = "msg_1";
  record.delivery.endpoint_id = "ep_1";
  record.delivery.event_type = "message.new";
  record.delivery.events = 2;
  record.delivery.body = R"({"type":"message.new"})";
  record.delivery.created = k_created;
  record.delivery.next_attempt = k_created + 5s;
  record.delivery.state = state;
  Attempt attempt;
  attempt.delivery_id = "msg_1";
  attempt.at = k_created + 1s;
  attempt.status = 503;
  attempt.latency = 12ms;
  attempt.response = "busy";
  record.attempts.push_back(attempt);
  return record;
}

} // namespace

BOOST_AUTO_TEST_SUITE(delivery_json)

BOOST_AUTO_TEST_CASE(a_pending_delivery_shows_its_next_attempt) {
  const auto json =
      dovewarden::webhook::delivery_json(record(DeliveryState::pending), false);
  BOOST_TEST(json["id"] == "msg_1");
  BOOST_TEST(json["endpoint_id"] == "ep_1");
  BOOST_TEST(json["type"] == "message.new");
  BOOST_TEST(json["events"] == 2);
  BOOST_TEST(json["state"] == "pending");
  BOOST_TEST(json["created"] == 1445412480);
  BOOST_TEST(json["next_attempt"] == 1445412485);
  BOOST_TEST(!json.contains("body"));
  BOOST_REQUIRE_EQUAL(json["attempts"].size(), 1u);
  const auto &attempt = json["attempts"][0];
  BOOST_TEST(attempt["at"] == 1445412481);
  BOOST_TEST(attempt["status"] == 503);
  BOOST_TEST(attempt["latency_ms"] == 12);
  BOOST_TEST(attempt["error"] == "");
  BOOST_TEST(attempt["response"] == "busy");
}

BOOST_AUTO_TEST_CASE(a_finished_delivery_has_no_next_attempt) {
  for (auto state : {DeliveryState::succeeded, DeliveryState::failed}) {
    const auto json = dovewarden::webhook::delivery_json(record(state), true);
    BOOST_TEST(json["next_attempt"].is_null());
    BOOST_TEST(json["state"] ==
               (state == DeliveryState::failed ? "failed" : "succeeded"));
    BOOST_TEST(json["body"] == R"({"type":"message.new"})");
  }
}

BOOST_AUTO_TEST_SUITE_END()
