#include "replication/UserdbCache.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <map>
#include <string>
#include <vector>

using dovewarden::replication::DoveadmFailure;
using dovewarden::replication::UserdbCache;
using dovewarden::replication::UserdbFields;
using namespace std::chrono_literals;

namespace {

// A cache on a clock the test moves, over a lookup that counts its calls
// and answers each user's uid, or fails for "broken".
struct Fixture {
  UserdbCache::Clock::time_point now{};
  std::map<std::string, int> lookups;
  int generation = 1; // changes what the userdb says

  UserdbCache cache(std::chrono::milliseconds ttl, std::size_t max_entries) {
    UserdbCache::Options options;
    options.ttl = ttl;
    options.max_entries = max_entries;
    options.now = [this] { return now; };
    return UserdbCache(
        options,
        [this](const std::string &user)
            -> tl::expected<UserdbFields, DoveadmFailure> {
          lookups[user]++;
          if (user == "broken")
            return tl::unexpected(DoveadmFailure{
                DoveadmFailure::Kind::temporary, "userdb down", 75});
          return UserdbFields{{"uid", std::to_string(generation)}};
        });
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(userdb_cache, Fixture)

BOOST_AUTO_TEST_CASE(fields_are_kept_for_the_ttl_then_looked_up_anew) {
  auto kept = cache(60s, 100);
  BOOST_TEST(kept.get("alice")->at("uid") == "1");
  generation = 2;
  now += 59s;
  BOOST_TEST(kept.get("alice")->at("uid") == "1");
  BOOST_TEST(lookups["alice"] == 1);
  now += 1s;
  BOOST_TEST(kept.get("alice")->at("uid") == "2");
  BOOST_TEST(lookups["alice"] == 2);
  BOOST_TEST(kept.size() == 1u);
}

BOOST_AUTO_TEST_CASE(when_full_the_oldest_entry_goes) {
  auto kept = cache(60s, 2);
  kept.get("alice");
  now += 1s;
  kept.get("bob");
  now += 1s;
  kept.get("carol");
  BOOST_TEST(kept.size() == 2u);
  kept.get("bob");
  kept.get("carol");
  BOOST_TEST(lookups["bob"] == 1);
  BOOST_TEST(lookups["carol"] == 1);
  kept.get("alice"); // it went first, and now bob goes
  BOOST_TEST(lookups["alice"] == 2);
  BOOST_TEST(kept.size() == 2u);
  kept.get("bob");
  BOOST_TEST(lookups["bob"] == 2);
}

BOOST_AUTO_TEST_CASE(expired_entries_go_as_new_ones_come) {
  auto kept = cache(10s, 100);
  for (const char *user : {"a", "b", "c"})
    kept.get(user);
  now += 10s;
  kept.get("d");
  BOOST_TEST(kept.size() == 1u);
}

BOOST_AUTO_TEST_CASE(failures_are_not_kept) {
  auto kept = cache(60s, 100);
  const auto first = kept.get("broken");
  BOOST_REQUIRE(!first);
  BOOST_TEST(first.error().message == "userdb down");
  BOOST_TEST(!kept.get("broken"));
  BOOST_TEST(lookups["broken"] == 2);
  BOOST_TEST(kept.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_zero_ttl_keeps_nothing) {
  auto none = cache(0ms, 100);
  none.get("alice");
  none.get("alice");
  BOOST_TEST(lookups["alice"] == 2);
  BOOST_TEST(none.size() == 0u);
}

BOOST_AUTO_TEST_CASE(threads_share_one_cache) {
  UserdbCache::Options options;
  std::atomic<int> calls{0};
  UserdbCache shared(options,
                     [&](const std::string &user)
                         -> tl::expected<UserdbFields, DoveadmFailure> {
                       calls++;
                       return UserdbFields{{"user", user}};
                     });
  std::vector<std::future<bool>> threads;
  for (int t = 0; t < 4; t++)
    threads.push_back(std::async(std::launch::async, [&shared] {
      bool right = true;
      for (int i = 0; i < 1000; i++) {
        const std::string user = "u" + std::to_string(i % 50);
        right = right && shared.get(user)->at("user") == user;
      }
      return right;
    }));
  for (auto &thread : threads)
    BOOST_TEST(thread.get());
  BOOST_TEST(shared.size() == 50u);
  // a user is looked up again only when two threads missed it at once
  BOOST_TEST(calls.load() >= 50);
  BOOST_TEST(calls.load() <= 200);
}

BOOST_AUTO_TEST_SUITE_END()
