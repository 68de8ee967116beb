#include "webhook/Payload.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace dovewarden;

namespace {

core::Event delivery_event() {
  core::Event event;
  event.message.type = "message.new";
  // 2026-11-29T09:37:08.000123Z
  event.message.set("ts", std::int64_t{1'795'945'028'000'123});
  event.message.set("user", std::string("alice@example.com"));
  event.message.set("mailbox", std::string("INBOX"));
  event.message.set("uid", std::uint64_t{42});
  event.message.set("keywords", wire::Strings{"$Forwarded", "work"});
  event.source = "zmq";
  return event;
}

} // namespace

BOOST_AUTO_TEST_SUITE(payload)

BOOST_AUTO_TEST_CASE(has_type_timestamp_and_the_fields_as_data) {
  const auto body = nlohmann::json::parse(webhook::payload(delivery_event()));
  BOOST_TEST(body["type"] == "message.new");
  BOOST_TEST(body["timestamp"] == "2026-11-29T09:37:08.000123Z");
  BOOST_TEST(body["data"]["user"] == "alice@example.com");
  BOOST_TEST(body["data"]["mailbox"] == "INBOX");
  BOOST_TEST(body["data"]["uid"] == 42);
  BOOST_TEST(body["data"]["keywords"][1] == "work");
}

BOOST_AUTO_TEST_CASE(the_kernels_sender_stands_beside_the_data) {
  auto event = delivery_event();
  BOOST_TEST(nlohmann::json::parse(webhook::payload(event)).count("sender") ==
             0u);
  event.sender = core::Sender{5000, 5000, 4300};
  const auto body = webhook::payload(event);
  BOOST_TEST(body.find(R"("sender":{"uid":5000,"pid":4300},"data":{)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(keys_come_in_the_standard_order) {
  const auto body = webhook::payload(delivery_event());
  BOOST_TEST(body.rfind("{\"type\":\"message.new\",\"timestamp\":", 0) == 0);
}

BOOST_AUTO_TEST_CASE(without_ts_the_arrival_time_counts) {
  auto event = delivery_event();
  event.message.fields.erase(event.message.fields.begin());
  event.received = std::chrono::system_clock::time_point(
      std::chrono::seconds(1'700'000'000));
  const auto body = nlohmann::json::parse(webhook::payload(event));
  BOOST_TEST(body["timestamp"] == "2023-11-14T22:13:20.000000Z");
}

BOOST_AUTO_TEST_CASE(a_batch_is_an_array_of_payloads) {
  const auto one = webhook::payload(delivery_event());
  const auto body = nlohmann::json::parse(webhook::batch_payload({one, one}));
  BOOST_TEST(body.is_array());
  BOOST_TEST(body.size() == 2u);
  BOOST_TEST(body[1]["data"]["uid"] == 42);
}

BOOST_AUTO_TEST_SUITE_END()
