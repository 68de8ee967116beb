#include "webhook/ClaimLeases.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using dovewarden::webhook::ClaimLeases;

namespace {

struct Fixture {
  std::vector<std::string> released;
  ClaimLeases leases{"host:1:webhook", [this](const std::string &owner) {
                       released.push_back(owner);
                     }};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(claim_leases, Fixture)

BOOST_AUTO_TEST_CASE(each_claim_leases_under_an_owner_of_its_own) {
  const auto first = leases.open();
  const auto second = leases.open();
  BOOST_TEST(first != second);
  BOOST_TEST(leases.owner(first) == "host:1:webhook#" + std::to_string(first));
  BOOST_TEST(leases.owner(first) != leases.owner(second));
}

BOOST_AUTO_TEST_CASE(a_claim_all_sent_gives_nothing_back) {
  const auto claim = leases.open();
  leases.add(claim);
  leases.add(claim);
  leases.close(claim);
  leases.done(claim, true);
  leases.done(claim, true);
  BOOST_TEST(released.empty());
  BOOST_TEST(leases.take_open().empty());
}

BOOST_AUTO_TEST_CASE(what_was_not_sent_is_given_back_once_the_rest_is_done) {
  const auto claim = leases.open();
  leases.add(claim);
  leases.add(claim);
  leases.close(claim);
  leases.done(claim, false); // put back
  BOOST_TEST(released.empty(), "the other is still in flight");
  leases.done(claim, true);
  BOOST_TEST(released == std::vector<std::string>{leases.owner(claim)});
}

BOOST_AUTO_TEST_CASE(an_open_claim_is_not_given_back_before_it_is_closed) {
  const auto claim = leases.open();
  leases.add(claim);
  leases.done(claim, false);
  BOOST_TEST(released.empty());
  leases.close(claim);
  BOOST_TEST(released.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_claim_that_found_nothing_is_forgotten_on_close) {
  const auto claim = leases.open();
  leases.close(claim);
  BOOST_TEST(released.empty());
  BOOST_TEST(leases.take_open().empty());
}

BOOST_AUTO_TEST_CASE(take_open_returns_the_owners_still_open_once) {
  const auto done = leases.open();
  leases.close(done);
  const auto busy = leases.open();
  leases.add(busy);
  leases.close(busy);
  const auto out = leases.open();
  BOOST_TEST(leases.take_open() ==
             (std::vector<std::string>{leases.owner(busy), leases.owner(out)}));
  BOOST_TEST(leases.take_open().empty());
  leases.done(busy, false); // forgotten: nothing more to give back
  BOOST_TEST(released.empty());
}

BOOST_AUTO_TEST_SUITE_END()
