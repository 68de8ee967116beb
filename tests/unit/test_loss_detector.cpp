#include "core/LossDetector.hpp"

#include <boost/test/unit_test.hpp>

#include <limits>

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

constexpr std::uint64_t k_max = std::numeric_limits<std::uint64_t>::max();

bool is_reset(const std::optional<LossDetector::Loss> &loss) {
  return loss && loss->kind == LossDetector::Loss::Kind::reset &&
         loss->lost == 0;
}

BOOST_AUTO_TEST_CASE(a_forged_top_seq_claims_nothing_and_real_gaps_still_show) {
  LossDetector detector;
  for (std::uint64_t seq = 1; seq <= 10; seq++)
    detector.observe("a", seq);
  // seq + 1 would wrap to 0
  const auto forged = detector.observe("a", k_max);
  BOOST_TEST(is_reset(forged));
  BOOST_TEST(forged->after_seq == 10u);
  BOOST_TEST(forged->next_seq == k_max);
  // the real process goes on: one reset to come back, then nothing
  BOOST_TEST(is_reset(detector.observe("a", 11)));
  for (std::uint64_t seq = 12; seq <= 20; seq++)
    BOOST_TEST(!detector.observe("a", seq).has_value(), seq);
  // and a real gap is a loss again
  const auto loss = detector.observe("a", 23);
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST((loss->kind == LossDetector::Loss::Kind::gap));
  BOOST_TEST(loss->lost == 2u);
}

BOOST_AUTO_TEST_CASE(the_top_seq_after_itself_or_after_zero_never_wraps) {
  LossDetector detector;
  detector.observe("a", k_max);
  BOOST_TEST(!detector.observe("a", k_max).has_value()); // a duplicate
  BOOST_TEST(is_reset(detector.observe("a", 0)));
  BOOST_TEST(!detector.observe("a", 1).has_value());
  BOOST_TEST(is_reset(detector.observe("a", k_max)));
  BOOST_TEST(is_reset(detector.observe("a", 0)));
  BOOST_TEST(is_reset(detector.observe("a", k_max - 1)));
  BOOST_TEST(!detector.observe("a", k_max).has_value());
}

BOOST_AUTO_TEST_CASE(one_message_claims_at_most_max_gap_lost) {
  LossDetector::Options options;
  options.max_gap = 1000;
  LossDetector detector(options);
  detector.observe("a", 1);
  const auto largest = detector.observe("a", 1002);
  BOOST_REQUIRE(largest.has_value());
  BOOST_TEST((largest->kind == LossDetector::Loss::Kind::gap));
  BOOST_TEST(largest->lost == 1000u);
  BOOST_TEST(is_reset(detector.observe("a", 2004)));
  BOOST_TEST(!detector.observe("a", 2005).has_value());
}

BOOST_AUTO_TEST_CASE(a_step_back_beyond_the_reorder_window_starts_over) {
  LossDetector::Options options;
  options.max_reorder = 10;
  LossDetector detector(options);
  detector.observe("a", 100);
  BOOST_TEST(!detector.observe("a", 90).has_value()); // within the window
  BOOST_TEST(!detector.observe("a", 101).has_value());
  // a process that numbers from 1 again under the same inst
  BOOST_TEST(is_reset(detector.observe("a", 1)));
  BOOST_TEST(!detector.observe("a", 2).has_value());
  const auto loss = detector.observe("a", 4);
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST(loss->lost == 1u);
}

BOOST_AUTO_TEST_CASE(any_seq_sequence_keeps_losses_bounded) {
  // adversarial sequences: every loss is within max_gap, and the sum never
  // wraps
  LossDetector::Options options;
  options.max_gap = 1000;
  LossDetector detector(options);
  const std::uint64_t seqs[] = {
      0,         k_max, 1,        k_max - 1, 2,     k_max / 2, k_max / 2 + 1001,
      k_max / 2, 3,     1u << 31, 1u << 31,  k_max, k_max,     5,
      6,         1006,  1007};
  long double total = 0;
  for (const auto seq : seqs) {
    const auto loss = detector.observe("a", seq);
    if (loss) {
      BOOST_TEST(loss->lost <= 1000u, seq);
      total += loss->lost;
    }
  }
  BOOST_TEST(total <= 1000.0L * 2);
}

BOOST_AUTO_TEST_CASE(a_loss_names_the_user_of_the_message_before_it) {
  LossDetector detector;
  const auto now = LossDetector::Clock::now();
  detector.observe("a", 1, now, "alice");
  detector.observe("b", 1, now, "bob");
  const auto loss = detector.observe("a", 3, now, "carol");
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST(loss->last_user == "alice");
  // the next gap names who came last
  const auto next = detector.observe("a", 5, now, "dave");
  BOOST_REQUIRE(next.has_value());
  BOOST_TEST(next->last_user == "carol");
}

BOOST_AUTO_TEST_CASE(a_very_long_user_is_not_remembered) {
  LossDetector detector;
  const auto now = LossDetector::Clock::now();
  detector.observe("a", 1, now, std::string(LossDetector::k_max_user + 1, 'u'));
  const auto loss = detector.observe("a", 3, now, "bob");
  BOOST_REQUIRE(loss.has_value());
  BOOST_TEST(loss->last_user.empty());
}

BOOST_AUTO_TEST_SUITE_END()
