#include "replication/SyncTarget.hpp"

#include <boost/test/unit_test.hpp>

using dovewarden::replication::SyncTarget;
using dovewarden::replication::UserdbFields;

namespace {

const SyncTarget::Rules k_global{"tcp:replica:12345", false};
const SyncTarget::Rules k_from_userdb{"tcp:replica:12345", true};

} // namespace

BOOST_AUTO_TEST_SUITE(sync_target)

BOOST_AUTO_TEST_CASE(the_global_destination_unless_told_to_read_the_userdb) {
  const UserdbFields bob{{"mail_replica", "tcp:bobs:4711"}};
  const auto target = SyncTarget::of(bob, k_global);
  BOOST_TEST(!target.noreplicate);
  BOOST_TEST(target.destination == "tcp:replica:12345");
}

BOOST_AUTO_TEST_CASE(mail_replica_first_and_the_global_one_as_fallback) {
  BOOST_TEST(SyncTarget::of({{"mail_replica", "tcp:bobs:4711"}}, k_from_userdb)
                 .destination == "tcp:bobs:4711");
  BOOST_TEST(SyncTarget::of({{"uid", "5000"}}, k_from_userdb).destination ==
             "tcp:replica:12345");
  BOOST_TEST(
      SyncTarget::of({{"mail_replica", ""}}, k_from_userdb).destination ==
      "tcp:replica:12345");
}

BOOST_AUTO_TEST_CASE(noreplicate_skips_whatever_the_destination) {
  const UserdbFields fields{{"noreplicate", "yes"},
                            {"mail_replica", "tcp:bobs:4711"}};
  BOOST_TEST(SyncTarget::of(fields, k_global).noreplicate);
  BOOST_TEST(SyncTarget::of(fields, k_from_userdb).noreplicate);
  BOOST_TEST(!SyncTarget::of({{"noreplicate", "no"}}, k_global).noreplicate);
}

BOOST_AUTO_TEST_SUITE_END()
