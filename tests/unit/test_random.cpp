#include "util/Random.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using dovewarden::util::random_bytes;
using dovewarden::util::random_id;
using dovewarden::util::sortable_id;

namespace {

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
         (c >= 'a' && c <= 'z');
}

} // namespace

// "random" would clash with random(3)
BOOST_AUTO_TEST_SUITE(randomness)

BOOST_AUTO_TEST_CASE(random_bytes_has_the_size_asked) {
  BOOST_TEST(random_bytes(0).empty());
  BOOST_TEST(random_bytes(1).size() == 1u);
  BOOST_TEST(random_bytes(1000).size() == 1000u);
  BOOST_TEST(random_bytes(32) != random_bytes(32));
}

BOOST_AUTO_TEST_CASE(random_id_is_prefix_and_22_base62_characters) {
  for (int i = 0; i < 200; i++) {
    const auto id = random_id("ep_");
    BOOST_TEST_REQUIRE(id.size() == 3u + 22u);
    BOOST_TEST(id.compare(0, 3, "ep_") == 0);
    for (std::size_t at = 3; at < id.size(); at++)
      BOOST_TEST(is_base62(id[at]), id);
  }
  BOOST_TEST(random_id("").size() == 22u);
}

BOOST_AUTO_TEST_CASE(random_ids_are_unique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; i++)
    ids.insert(random_id("msg_"));
  BOOST_TEST(ids.size() == 10000u);
}

BOOST_AUTO_TEST_CASE(sortable_ids_sort_in_the_order_made) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; i++) {
    ids.push_back(sortable_id("msg_"));
    // the time part counts milliseconds: each id is made in a later one
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (const auto &id : ids) {
    BOOST_TEST_REQUIRE(id.size() == 4u + 24u);
    BOOST_TEST(id.compare(0, 4, "msg_") == 0);
    for (std::size_t at = 4; at < id.size(); at++)
      BOOST_TEST(is_base62(id[at]), id);
  }
  BOOST_TEST(std::is_sorted(ids.begin(), ids.end()));
  // the time part: 1 ms after 1970 is "00000001"
  BOOST_TEST(ids[0].compare(4, 8, "0000000") > 0);
  std::set<std::string> unique;
  for (int i = 0; i < 10000; i++)
    unique.insert(sortable_id(""));
  BOOST_TEST(unique.size() == 10000u);
}

// With 62 characters drawn 22 * 5000 times, each is expected 1774 times;
// a modulo bias (256 % 62 = 8) would make the first eight ~25% likelier.
// The bounds are 8 standard deviations wide: a failure is not chance.
BOOST_AUTO_TEST_CASE(random_id_characters_are_evenly_spread) {
  std::map<char, int> counts;
  for (int i = 0; i < 5000; i++)
    for (const char c : random_id(""))
      counts[c]++;
  BOOST_TEST(counts.size() == 62u);
  int low = 1 << 30, high = 0;
  for (const auto &[c, count] : counts) {
    low = std::min(low, count);
    high = std::max(high, count);
  }
  BOOST_TEST(low > 1774 - 330);
  BOOST_TEST(high < 1774 + 330);
}

BOOST_AUTO_TEST_SUITE_END()
