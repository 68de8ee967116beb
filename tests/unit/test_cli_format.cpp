#include "cli/Format.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

using namespace dovewarden;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(cli_format)

BOOST_AUTO_TEST_CASE(time_ago_like_doveadm) {
  BOOST_TEST(cli::time_ago(std::nullopt, 1000) == "-");
  BOOST_TEST(cli::time_ago(1000, 1083) == "00:01:23");
  BOOST_TEST(cli::time_ago(1000, 1000 + 100 * 3600 + 59) == "100:00:59");
  BOOST_TEST(cli::time_ago(1000, 990) == "00:00:00");
}

BOOST_AUTO_TEST_CASE(table_pads_columns_by_characters) {
  BOOST_TEST(cli::format_table({{"a", "bb", "c"}, {"ünï", "b", "c"}}) ==
             "a    bb  c\n"
             "ünï  b   c\n");
}

BOOST_AUTO_TEST_CASE(status_overview_table) {
  const auto status =
      json::parse(R"({"queued":{"none":1,"low":2,"high":3,"sync":4},
                      "waiting":5,"running":6,"failed":7,"users":1234})");
  BOOST_TEST(cli::format_status(status) ==
             "Queued 'sync' requests        4\n"
             "Queued 'high' requests        3\n"
             "Queued 'low' requests         2\n"
             "Queued 'none' requests        1\n"
             "Waiting 'failed' requests     5\n"
             "Running syncs                 6\n"
             "Users whose last sync failed  7\n"
             "Total number of known users   1234\n");
  BOOST_CHECK_THROW(cli::format_status(json::parse(R"({"queued":{}})")),
                    json::exception);
}

BOOST_AUTO_TEST_CASE(status_overview_with_the_syncs_skipped_for_noreplicate) {
  auto status = json::parse(R"({"queued":{"none":1,"low":2,"high":3,"sync":4},
                      "waiting":5,"running":6,"failed":7,"users":1234})");
  const auto without = cli::format_status(status);
  status["noreplicate"] = {{"skipped", 9},
                           {"recent", json::array({"norep", "bob"})}};
  BOOST_TEST(cli::format_status(status) ==
             without + "Skipped syncs (noreplicate)   9\n"
                       "Last noreplicate users        norep,bob\n");
  status["noreplicate"]["recent"] = json::array();
  BOOST_TEST(cli::format_status(status) ==
             without + "Skipped syncs (noreplicate)   9\n");
}

BOOST_AUTO_TEST_CASE(users_table) {
  const std::int64_t now = 1700003600;
  const auto users = json::parse(R"([
    {"user":"alice@example.org","queued":true,"priority":"high",
     "last_fast_sync":1700003517,"last_full_sync":1699996400,
     "last_success":1700003517,"failed":false,"next_attempt":null,
     "running":false,"last_error":"an old one"},
    {"user":"bob","queued":true,"priority":"low","last_fast_sync":null,
     "last_full_sync":null,"last_success":null,"failed":true,
     "next_attempt":1700003690,"running":false,
     "last_error":"doveadm: 403 Forbidden\nfor bob"},
    {"user":"carol","queued":false,"priority":"none",
     "last_fast_sync":1700003000,"last_full_sync":1700003000,
     "last_success":1700003000,"failed":false,"next_attempt":null,
     "running":false,"last_error":""},
    {"user":"dan\u0001","queued":true,"priority":"sync",
     "last_fast_sync":null,"last_full_sync":null,"last_success":null,
     "failed":false,"next_attempt":null,"running":true,"last_error":""}])");
  BOOST_TEST(
      cli::format_users(users, now) ==
      "username           priority  fast sync  full sync  success sync  "
      "failed  next sync    last error\n"
      "alice@example.org  high      00:01:23   02:00:00   00:01:23      "
      "-       now          -\n"
      "bob                low       -          -          -             "
      "y       in 00:01:30  doveadm: 403 Forbidden for bob\n"
      "carol              none      00:10:00   00:10:00   00:10:00      "
      "-       -            -\n"
      "dan\\x01            sync      -          -          -             "
      "-       running      -\n");
  BOOST_TEST(cli::format_users(json::array(), now) ==
             "username  priority  fast sync  full sync  success sync  failed  "
             "next sync  last error\n");
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

BOOST_AUTO_TEST_SUITE_END()
