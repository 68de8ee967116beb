#include "ReplicationApiFixture.hpp"
#include "admin/ReplicationApi.hpp"
#include "store/ReplicationStore.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

using namespace dovewarden;
using namespace std::chrono_literals;
using nlohmann::json;
using store::Priority;
using test::ReplicationApiFixture;

namespace {

store::TimePoint at(std::int64_t seconds) {
  return store::TimePoint(std::chrono::seconds(seconds));
}

} // namespace

BOOST_AUTO_TEST_SUITE(replication_api)

BOOST_FIXTURE_TEST_CASE(status_counts, ReplicationApiFixture) {
  store::QueueStatus status;
  status.queued = {1, 2, 3, 4};
  status.waiting = 5;
  status.running = 6;
  status.failed = 7;
  status.users = 8;
  store.set_queue_status(status);
  const auto result = client().Get("/v1/replication/status", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(result->get_header_value("Content-Type") == "application/json");
  BOOST_TEST(body_of(result) ==
             json::parse(R"({"queued":{"none":1,"low":2,"high":3,"sync":4},
                             "waiting":5,"running":6,"failed":7,"users":8,
                             "noreplicate":{"skipped":0,"recent":[]}})"));
}

BOOST_FIXTURE_TEST_CASE(status_shows_the_syncs_skipped_for_noreplicate,
                        ReplicationApiFixture) {
  set_skipped({3, {"norep", "other"}});
  const auto result = client().Get("/v1/replication/status", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(body_of(result).at("noreplicate") ==
             json::parse(R"({"skipped":3,"recent":["norep","other"]})"));
}

BOOST_FIXTURE_TEST_CASE(users_by_mask, ReplicationApiFixture) {
  store::UserRecord alice;
  alice.user = "alice";
  alice.queued = true;
  alice.priority = Priority::high;
  alice.requested = at(1700000100);
  alice.last_fast_sync = at(1700000000);
  alice.last_full_sync = at(1690000000);
  alice.last_success = at(1690000000);
  alice.failed = true;
  alice.failures = 2;
  alice.last_error = "doveadm: timeout";
  alice.next_attempt = at(1700000200);
  alice.owner = "host-1";
  alice.lease_until = store::Clock::now() + 1h;
  store.put(alice);
  store::UserRecord bob;
  bob.user = "bob";
  bob.owner = "host-2"; // an expired lease is not running
  bob.lease_until = at(1);
  store.put(bob);

  auto result = client().Get("/v1/replication/users?mask=a%2A", auth);
  BOOST_TEST(body_of(result) == json::parse(R"([{
      "user":"alice","queued":true,"priority":"high","requested":1700000100,
      "full_requested":false,"last_fast_sync":1700000000,
      "last_full_sync":1690000000,"last_success":1690000000,"failed":true,
      "failures":2,"last_error":"doveadm: timeout","next_attempt":1700000200,
      "running":true}])"));

  result = client().Get("/v1/replication/users", auth);
  const auto all = body_of(result);
  BOOST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[1] == json::parse(R"({
      "user":"bob","queued":false,"priority":"none","requested":null,
      "full_requested":false,"last_fast_sync":null,"last_full_sync":null,
      "last_success":null,"failed":false,"failures":0,"last_error":"",
      "next_attempt":null,"running":false})"));

  result = client().Get("/v1/replication/users?mask=", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
}

BOOST_FIXTURE_TEST_CASE(replicate_one_user_known_or_not,
                        ReplicationApiFixture) {
  const auto before = store::Clock::now() - 1s;
  auto result = replicate({{"mask", "carol@example.org"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(body_of(result) == json::parse(R"({"queued":1})"));
  const auto carol = store.find("carol@example.org");
  BOOST_REQUIRE(carol);
  BOOST_TEST(carol->queued);
  // doveadm replicator replicate's default priority
  BOOST_TEST((carol->priority == Priority::low));
  BOOST_TEST(!carol->full_requested);
  BOOST_TEST((carol->requested >= before));
  BOOST_TEST(store.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(replicate_mask_full_priority, ReplicationApiFixture) {
  store.add("alice");
  store.add("anna");
  store.add("bob");
  // "alex" is only known to doveadm, "anna" to both
  set_doveadm_users({"alex", "anna", "bert"});
  const auto result =
      replicate({{"mask", "a*"}, {"full", true}, {"priority", "sync"}});
  BOOST_TEST(body_of(result) == json::parse(R"({"queued":3})"));
  for (const auto *user : {"alex", "alice", "anna"}) {
    const auto record = store.find(user);
    BOOST_REQUIRE(record);
    BOOST_TEST(record->queued);
    BOOST_TEST((record->priority == Priority::sync));
    BOOST_TEST(record->full_requested);
  }
  BOOST_TEST(!store.find("bob")->queued);
  BOOST_TEST(!store.find("bert"));
}

BOOST_FIXTURE_TEST_CASE(replicate_mask_without_matches, ReplicationApiFixture) {
  store.add("bob");
  const auto result = replicate({{"mask", "z?"}, {"priority", "high"}});
  BOOST_TEST(body_of(result) == json::parse(R"({"queued":0})"));
  BOOST_TEST(!store.find("bob")->queued);
}

BOOST_FIXTURE_TEST_CASE(replicate_refuses_bad_input, ReplicationApiFixture) {
  for (const auto *body :
       {"not json", "[]", R"({"full":true})", R"({"mask":""})",
        R"({"mask":"a","priority":"urgent"})", R"({"mask":"a","full":"yes"})",
        R"({"mask":7})", R"({"mask":"a","prio":"high"})",
        "{\"mask\":\"a\\nb\"}"}) {
    BOOST_TEST_CONTEXT(body) {
      const auto result = client().Post("/v1/replication/replicate", auth, body,
                                        "application/json");
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == 400);
      BOOST_TEST(json::parse(result->body).at("error").is_string());
    }
  }
  BOOST_TEST(store.size() == 0u);
}

// an e-mail address has at most 254 bytes; a longer name is refused before
// it reaches the store or the log
BOOST_FIXTURE_TEST_CASE(names_over_255_bytes_are_refused,
                        ReplicationApiFixture) {
  const std::string longest(admin::ReplicationApi::k_max_name, 'a');
  const std::string longer = longest + "a";
  auto result = replicate(json{{"mask", longer}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(json::parse(result->body).at("error") ==
             "\"mask\" is longer than 255 bytes");
  BOOST_TEST(store.size() == 0U);
  result = client().Delete("/v1/replication/users/" + longer, auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(json::parse(result->body).at("error") ==
             "user is longer than 255 bytes");
  result = client().Get("/v1/replication/users?mask=" + longer, auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(json::parse(result->body).at("error") ==
             "mask is longer than 255 bytes");
  result = replicate(json{{"mask", longest}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(store.find(longest).has_value());
}

// a user with a slash or a line break in it reaches the handler, which
// judges the name
BOOST_FIXTURE_TEST_CASE(remove_takes_the_whole_rest_of_the_path,
                        ReplicationApiFixture) {
  store.add("a b@x/y");
  auto result = client().Delete("/v1/replication/users/a%20b%40x%2Fy", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 204);
  BOOST_TEST(store.size() == 0u);
  result = client().Delete("/v1/replication/users/a%0Ab", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(json::parse(result->body).at("error") ==
             "user contains control characters");
}

BOOST_FIXTURE_TEST_CASE(remove_known_and_unknown, ReplicationApiFixture) {
  store.add("dave@example.org");
  store.add("erin");
  auto result =
      client().Delete("/v1/replication/users/dave%40example.org", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 204);
  BOOST_TEST(!store.find("dave@example.org"));
  BOOST_TEST(store.find("erin").has_value());
  result = client().Delete("/v1/replication/users/dave%40example.org", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 404);
  BOOST_TEST(json::parse(result->body).at("error").is_string());
}

BOOST_FIXTURE_TEST_CASE(store_failures_answer_503, ReplicationApiFixture) {
  store.add("alice");
  store.failing = true;
  auto client = this->client();
  std::vector<httplib::Result> results;
  results.push_back(client.Get("/v1/replication/status", auth));
  results.push_back(client.Get("/v1/replication/users?mask=*", auth));
  results.push_back(replicate({{"mask", "alice"}}));
  results.push_back(replicate({{"mask", "a*"}}));
  results.push_back(client.Delete("/v1/replication/users/alice", auth));
  for (const auto &result : results) {
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 503);
    BOOST_TEST(json::parse(result->body)
                   .at("error")
                   .get<std::string>()
                   .find("fake store down") != std::string::npos);
  }
  store.failing = false;
  BOOST_TEST(store.find("alice").has_value());
  // nothing stays failed once the store answers again
  BOOST_TEST(body_of(replicate({{"mask", "alice"}})) ==
             json::parse(R"({"queued":1})"));
  BOOST_TEST(store.find("alice")->queued);
}

BOOST_FIXTURE_TEST_CASE(user_list_failure_answers_503, ReplicationApiFixture) {
  store.add("alice");
  set_doveadm_error("doveadm: 500");
  const auto result = replicate({{"mask", "a*"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 503);
  BOOST_TEST(!store.find("alice")->queued);
  // a single user needs no list
  BOOST_TEST(body_of(replicate({{"mask", "alice"}})) ==
             json::parse(R"({"queued":1})"));
}

BOOST_AUTO_TEST_SUITE_END()
