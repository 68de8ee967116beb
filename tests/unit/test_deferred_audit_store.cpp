#include "FakeAuditStore.hpp"
#include "Wait.hpp"
#include "audit/DeferredAuditStore.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>

using dovewarden::audit::AuditStore;
using dovewarden::audit::DeferredAuditStore;
using dovewarden::test::FakeAuditStore;

BOOST_AUTO_TEST_SUITE(deferred_audit_store)

BOOST_AUTO_TEST_CASE(is_down_until_its_backend_opens) {
  std::atomic<bool> reachable = false;
  std::atomic<int> tries = 0;
  DeferredAuditStore store(
      "test/audit",
      [&]() -> AuditStore::Result<std::unique_ptr<AuditStore>> {
        ++tries;
        if (!reachable)
          return dovewarden::db::unavailable("no server");
        return std::make_unique<FakeAuditStore>();
      },
      nullptr);
  BOOST_TEST(!store.head().has_value());
  BOOST_TEST(!store.writable());
  BOOST_TEST(store.last_failure().find("no server") != std::string::npos);
  reachable = true;
  BOOST_TEST(dovewarden::test::wait_until([&] { return store.check(); }));
  const auto head = store.head();
  BOOST_REQUIRE(head);
  BOOST_TEST(head->seq == 0u);
  // opened once, kept
  const auto opened_after = tries.load();
  BOOST_TEST(store.head().has_value());
  BOOST_TEST(tries.load() == opened_after);
}

BOOST_AUTO_TEST_CASE(uses_the_backend_opened_at_start) {
  int tries = 0;
  DeferredAuditStore store(
      "test/audit",
      [&]() -> AuditStore::Result<std::unique_ptr<AuditStore>> {
        ++tries;
        return dovewarden::db::unavailable("not again");
      },
      std::make_unique<FakeAuditStore>());
  BOOST_TEST(store.head().has_value());
  BOOST_TEST(tries == 0);
}

BOOST_AUTO_TEST_SUITE_END()
