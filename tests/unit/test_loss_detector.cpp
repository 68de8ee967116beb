#include "core/LossDetector.hpp"

#include <boost/test/unit_test.hpp>

using dovewarden::core::LossDetector;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(loss_detector)

BOOST_AUTO_TEST_CASE(consecutive_seqs_lose_nothing) {
  LossDetector detector;
  for (std::uint64_t seq = 1; seq <= 5; seq++)
    BOOST_TEST(!detector.observe("a", seq).has_value());
}

BOOST_AUTO_TEST_CASE(a_gap_is_reported) {
  LossDetector detector;
  detector.observe("a", 1);
  detector.observe("a", 2);
  const auto loss = detector.observe("a", 6);
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST(loss->lost == 3u);
  BOOST_TEST(loss->after_seq == 2u);
  BOOST_TEST(loss->next_seq == 6u);
  BOOST_TEST(!detector.observe("a", 7).has_value());
}

BOOST_AUTO_TEST_CASE(first_message_of_an_instance_is_never_a_loss) {
  LossDetector detector;
  BOOST_TEST(!detector.observe("a", 1).has_value());
  // the daemon may have started after this process sent seq 1..4
  BOOST_TEST(!detector.observe("b", 5).has_value());
  BOOST_TEST(!detector.observe("b", 6).has_value());
}

BOOST_AUTO_TEST_CASE(duplicates_and_reordering_are_not_losses) {
  LossDetector detector;
  detector.observe("a", 1);
  detector.observe("a", 2);
  detector.observe("a", 3);
  BOOST_TEST(!detector.observe("a", 3).has_value());
  BOOST_TEST(!detector.observe("a", 2).has_value());
  // the mark stays at 3
  BOOST_TEST(!detector.observe("a", 4).has_value());
  const auto loss = detector.observe("a", 6);
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST(loss->lost == 1u);
}

BOOST_AUTO_TEST_CASE(instances_are_independent) {
  LossDetector detector;
  detector.observe("a", 1);
  detector.observe("b", 10);
  detector.observe("a", 2);
  BOOST_TEST(!detector.observe("b", 11).has_value());
  const auto loss_a = detector.observe("a", 4);
  BOOST_REQUIRE(loss_a.has_value());
  BOOST_TEST(loss_a->lost == 1u);
  const auto loss_b = detector.observe("b", 20);
  BOOST_REQUIRE(loss_b.has_value());
  BOOST_TEST(loss_b->lost == 8u);
  BOOST_TEST(detector.size() == 2u);
}

BOOST_AUTO_TEST_CASE(idle_instances_are_forgotten) {
  LossDetector detector(LossDetector::Options{1h, 100});
  const auto t0 = LossDetector::Clock::time_point{};
  detector.observe("old", 1, t0);
  detector.observe("busy", 1, t0);
  detector.observe("busy", 2, t0 + 50min);
  detector.observe("busy", 3, t0 + 61min);
  BOOST_TEST(detector.size() == 1u);
  // "old" counts as new again: no loss for its silence
  BOOST_TEST(!detector.observe("old", 9, t0 + 62min).has_value());
}

BOOST_AUTO_TEST_CASE(least_recently_seen_are_forgotten_beyond_the_cap) {
  LossDetector detector(LossDetector::Options{1h, 2});
  detector.observe("a", 1);
  detector.observe("b", 1);
  detector.observe("a", 2); // a is now the most recent
  detector.observe("c", 1); // b goes
  BOOST_TEST(detector.size() == 2u);
  BOOST_TEST(!detector.observe("b", 5).has_value()); // new again; a goes
  const auto loss = detector.observe("c", 3);
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST(loss->lost == 1u);
  BOOST_TEST(!detector.observe("a", 9).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
