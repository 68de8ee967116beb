#include "RedisServer.hpp"
#include "StoreSubject.hpp"
#include "TestUtil.hpp"
#include "db/RedisConnection.hpp"
#include "store/RedisStore.hpp"
#include "store/SqliteStore.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <ostream>
#include <thread>

using namespace dovewarden;
using namespace std::chrono_literals;
using store::Claim;
using store::Priority;
using store::QueueStatus;
using store::RedisStore;
using store::ReplicationStore;
using store::SqliteStore;
using store::SyncRequest;
using store::TimePoint;
using store::UserRecord;

namespace dovewarden::store {
std::ostream &operator<<(std::ostream &out, Priority priority) {
  return out << priority_name(priority);
}
} // namespace dovewarden::store

using dovewarden::test::free_port;
using dovewarden::test::kind_of;
using dovewarden::test::make_temp_directory;
using dovewarden::test::ok;
using dovewarden::test::read_file;
using dovewarden::test::shared_redis;

namespace {

// the contract cases run once per backend
const std::vector<std::string> k_backends{"sqlite", "redis"};

// times are whole seconds after a fixed instant: the stores keep milliseconds
TimePoint at(int seconds) {
  return TimePoint(std::chrono::seconds(1'700'000'000 + seconds));
}

SyncRequest request(const std::string &user, Priority priority, int seconds,
                    bool full = false) {
  return SyncRequest{user, priority, at(seconds), full, std::nullopt};
}

std::unique_ptr<ReplicationStore> connect_redis(int port,
                                                const std::string &ns) {
  return test::connect_redis<RedisStore>(port, ns);
}

using Subject = test::StoreSubject<ReplicationStore, SqliteStore, RedisStore>;

std::optional<Claim> claim(ReplicationStore &store, const std::string &owner,
                           int seconds, std::chrono::milliseconds lease = 60s) {
  return ok(store.claim(owner, at(seconds), lease));
}

UserRecord record(ReplicationStore &store, const std::string &user) {
  auto records = ok(store.users(user));
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  return records.front();
}

std::vector<std::string> names(const std::vector<UserRecord> &records) {
  std::vector<std::string> users;
  for (const auto &record : records)
    users.push_back(record.user);
  return users;
}

std::string claimed_user(const std::optional<Claim> &claim) {
  return claim ? claim->user : "(none)";
}

std::uint64_t queued(const QueueStatus &status, Priority priority) {
  return status.queued.at(static_cast<std::size_t>(priority));
}

} // namespace

BOOST_AUTO_TEST_SUITE(store)

namespace data = boost::unit_test::data;

BOOST_DATA_TEST_CASE(enqueue_then_claim_returns_the_user,
                     data::make(k_backends), backend) {
  Subject store(backend);
  BOOST_TEST(!claim(*store, "w1", 0));
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  const auto claimed = claim(*store, "w1", 2);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->user == "alice");
  BOOST_TEST(claimed->priority == Priority::high);
  BOOST_TEST(!claimed->full);
  BOOST_TEST(claimed->failures == 0);
  BOOST_TEST(claimed->dsync_state == "");
  BOOST_TEST(!claim(*store, "w1", 3));
  BOOST_TEST(record(*store, "alice").owner == "w1");
  BOOST_TEST((record(*store, "alice").lease_until == at(2) + 60s));
}

BOOST_DATA_TEST_CASE(requests_coalesce_into_one_entry, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::low, 10),
                     request("alice", Priority::high, 20)}));
  ok(store->enqueue({request("alice", Priority::low, 5, true)}));
  ok(store->enqueue({request("alice", Priority::none, 30)}));
  const auto alice = record(*store, "alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.priority == Priority::high);
  BOOST_TEST((alice.requested == at(5)));
  BOOST_TEST(alice.full_requested);
  const auto status = ok(store->status(at(31)));
  BOOST_TEST(queued(status, Priority::high) == 1u);
  BOOST_TEST(status.users == 1u);

  const auto claimed = claim(*store, "w1", 31);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->priority == Priority::high);
  BOOST_TEST(claimed->full);
  BOOST_TEST(!claim(*store, "w2", 31));
}

BOOST_DATA_TEST_CASE(claims_by_priority_then_time, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue(
      {request("bob", Priority::low, 1), request("carol", Priority::high, 3),
       request("dave", Priority::high, 2), request("erin", Priority::sync, 9),
       request("frank", Priority::none, 0)}));
  std::vector<std::string> order;
  while (const auto claimed = claim(*store, "w1", 10))
    order.push_back(claimed->user);
  const std::vector<std::string> expected{"erin", "dave", "carol", "bob",
                                          "frank"};
  BOOST_TEST(order == expected, boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(a_leased_user_is_not_claimed_by_another_owner,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  const auto claimed = claim(*store, "w1", 1);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(!claim(*store, "w2", 2));
  // a new request while leased changes nothing for the others
  ok(store->enqueue({request("alice", Priority::sync, 3)}));
  BOOST_TEST(!claim(*store, "w2", 4));
  BOOST_TEST(!ok(store->renew(*claimed, "w2", at(5), 60s)));
  BOOST_TEST(ok(store->renew(*claimed, "w1", at(5), 60s)));
  BOOST_TEST((record(*store, "alice").lease_until == at(65)));
}

BOOST_DATA_TEST_CASE(a_renewed_lease_lasts_longer, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  const auto claimed = claim(*store, "w1", 1, 10s);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(ok(store->renew(*claimed, "w1", at(8), 10s)));
  BOOST_TEST(!claim(*store, "w2", 12));
  BOOST_TEST(claimed_user(claim(*store, "w2", 19)) == "alice");
}

BOOST_DATA_TEST_CASE(an_expired_lease_is_claimable, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  const auto first = claim(*store, "w1", 1, 10s);
  BOOST_REQUIRE(first);
  BOOST_TEST(!claim(*store, "w2", 5));
  const auto second = claim(*store, "w2", 12);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->user == "alice");

  // the first owner lost the user: its outcome no longer counts
  BOOST_TEST(!ok(store->renew(*first, "w1", at(13), 10s)));
  ok(store->succeed(*first, "w1", "stale", false, at(13)));
  auto alice = record(*store, "alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.owner == "w2");
  BOOST_TEST((alice.last_success == TimePoint{}));

  ok(store->succeed(*second, "w2", "fresh", false, at(14)));
  alice = record(*store, "alice");
  BOOST_TEST(!alice.queued);
  BOOST_TEST((alice.last_success == at(14)));
}

BOOST_DATA_TEST_CASE(succeed_dequeues_and_records_the_sync,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  auto claimed = claim(*store, "w1", 2);
  BOOST_REQUIRE(claimed);
  ok(store->succeed(*claimed, "w1", "state-1", false, at(5)));
  auto alice = record(*store, "alice");
  BOOST_TEST(!alice.queued);
  BOOST_TEST(alice.owner == "");
  BOOST_TEST((alice.last_fast_sync == at(5)));
  BOOST_TEST((alice.last_full_sync == TimePoint{}));
  BOOST_TEST((alice.last_success == at(5)));
  BOOST_TEST(!claim(*store, "w1", 6));
  BOOST_TEST(ok(store->status(at(6))).users == 1u);

  ok(store->enqueue({request("alice", Priority::low, 7, true)}));
  claimed = claim(*store, "w1", 8);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->dsync_state == "state-1");
  BOOST_TEST(claimed->full);
  BOOST_TEST(claimed->priority == Priority::low);
  ok(store->succeed(*claimed, "w1", "state-2", true, at(9)));
  alice = record(*store, "alice");
  BOOST_TEST(!alice.queued);
  BOOST_TEST(!alice.full_requested);
  BOOST_TEST((alice.last_fast_sync == at(5)));
  BOOST_TEST((alice.last_full_sync == at(9)));
  BOOST_TEST((alice.last_success == at(9)));

  ok(store->enqueue({request("alice", Priority::low, 10)}));
  claimed = claim(*store, "w1", 11);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->dsync_state == "state-2");
  BOOST_TEST(!claimed->full);
  BOOST_TEST((claimed->last_full_sync == at(9)));
}

BOOST_DATA_TEST_CASE(a_request_during_the_sync_keeps_the_user_queued,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::low, 1)}));
  const auto first = claim(*store, "w1", 1);
  BOOST_REQUIRE(first);
  ok(store->enqueue({request("alice", Priority::high, 2)}));
  ok(store->succeed(*first, "w1", "state-1", false, at(3)));
  const auto alice = record(*store, "alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.priority == Priority::high);
  BOOST_TEST(alice.owner == "");
  BOOST_TEST((alice.last_success == at(3)));

  const auto second = claim(*store, "w2", 4);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->generation != first->generation);
  BOOST_TEST(second->dsync_state == "state-1");
  ok(store->succeed(*second, "w2", "state-2", false, at(5)));
  BOOST_TEST(!record(*store, "alice").queued);
  BOOST_TEST(!claim(*store, "w1", 6));
}

BOOST_DATA_TEST_CASE(a_full_sync_answers_the_full_requests_made_while_it_ran,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::low, 1, true)}));
  const auto full = claim(*store, "w1", 1);
  BOOST_REQUIRE(full);
  BOOST_TEST(full->full);
  ok(store->enqueue({request("alice", Priority::low, 2, true)}));
  ok(store->succeed(*full, "w1", "s1", true, at(3)));
  BOOST_TEST(record(*store, "alice").queued);
  BOOST_TEST(!record(*store, "alice").full_requested);

  // a full request made while a fast sync ran stays
  const auto fast = claim(*store, "w1", 4);
  BOOST_REQUIRE(fast);
  BOOST_TEST(!fast->full);
  ok(store->enqueue({request("alice", Priority::low, 5, true)}));
  ok(store->succeed(*fast, "w1", "s2", false, at(6)));
  BOOST_TEST(record(*store, "alice").full_requested);
}

BOOST_DATA_TEST_CASE(fail_backs_off_until_retry_at, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  auto claimed = claim(*store, "w1", 1);
  BOOST_REQUIRE(claimed);
  ok(store->fail(*claimed, "w1", "doveadm: timed out", at(2), at(60)));
  auto alice = record(*store, "alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.failed);
  BOOST_TEST(alice.failures == 1);
  BOOST_TEST(alice.last_error == "doveadm: timed out");
  BOOST_TEST(alice.owner == "");
  BOOST_TEST((alice.next_attempt == at(60)));

  BOOST_TEST(!claim(*store, "w1", 30));
  auto status = ok(store->status(at(30)));
  BOOST_TEST(status.waiting == 1u);
  BOOST_TEST(status.failed == 1u);
  BOOST_TEST(status.running == 0u);

  claimed = claim(*store, "w1", 61);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->failures == 1);
  ok(store->fail(*claimed, "w1", "doveadm: refused", at(62), at(62)));
  BOOST_TEST(record(*store, "alice").failures == 2);
  BOOST_TEST(record(*store, "alice").last_error == "doveadm: refused");

  claimed = claim(*store, "w1", 63);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->failures == 2);
  ok(store->succeed(*claimed, "w1", "state", false, at(64)));
  alice = record(*store, "alice");
  BOOST_TEST(!alice.failed);
  BOOST_TEST(alice.failures == 0);
  BOOST_TEST(alice.last_error == "");
  status = ok(store->status(at(64)));
  BOOST_TEST(status.failed == 0u);
  BOOST_TEST(status.waiting == 0u);
}

BOOST_DATA_TEST_CASE(a_sync_priority_request_cuts_a_backoff_short,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::low, 1)}));
  auto claimed = claim(*store, "w1", 1);
  BOOST_REQUIRE(claimed);
  ok(store->fail(*claimed, "w1", "replica down", at(2), at(600)));
  // a change does not: the replica is still thought down
  ok(store->enqueue({request("alice", Priority::high, 3)}));
  BOOST_TEST(!claim(*store, "w1", 4));
  // the operator's `replicate -p sync` does
  ok(store->enqueue({request("alice", Priority::sync, 5)}));
  claimed = claim(*store, "w1", 6);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->priority == Priority::sync);
  BOOST_TEST(claimed->failures == 1);
}

BOOST_DATA_TEST_CASE(release_keeps_the_user_queued_and_due,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::sync, 1, true)}));
  const auto claimed = claim(*store, "w1", 2);
  BOOST_REQUIRE(claimed);
  ok(store->release(*claimed, "w2")); // not the owner: ignored
  BOOST_TEST(!claim(*store, "w2", 3));
  ok(store->release(*claimed, "w1"));
  const auto alice = record(*store, "alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.owner == "");
  const auto again = claim(*store, "w2", 3);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->user == "alice");
  BOOST_TEST(again->priority == Priority::sync);
  BOOST_TEST(again->full);
}

BOOST_DATA_TEST_CASE(a_call_without_an_owner_is_invalid_and_changes_nothing,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  BOOST_TEST(kind_of(store->claim("", at(2), 60s)) == "invalid");
  const auto claimed = claim(*store, "w1", 2);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(kind_of(store->succeed(*claimed, "", "state", false, at(3))) ==
             "invalid");
  BOOST_TEST(kind_of(store->fail(*claimed, "", "error", at(3), at(4))) ==
             "invalid");
  BOOST_TEST(kind_of(store->release(*claimed, "")) == "invalid");
  BOOST_TEST(!ok(store->renew(*claimed, "", at(3), 60s)));
  BOOST_TEST(ok(store->release_owner("")) == 0u);
  const auto alice = record(*store, "alice");
  BOOST_TEST(alice.owner == "w1");
  BOOST_TEST((alice.lease_until == at(2) + 60s));
  BOOST_TEST((alice.last_success == TimePoint{}));
  BOOST_TEST(!alice.failed);
}

BOOST_DATA_TEST_CASE(remove_forgets_the_user, data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue(
      {request("alice", Priority::high, 1), request("bob", Priority::low, 2)}));
  BOOST_TEST(ok(store->remove("alice")));
  BOOST_TEST(!ok(store->remove("alice")));
  BOOST_TEST(!ok(store->remove("nobody")));
  BOOST_TEST(names(ok(store->users("*"))) == std::vector<std::string>{"bob"},
             boost::test_tools::per_element());

  // removing a leased user: the sync's outcome does not bring it back
  const auto claimed = claim(*store, "w1", 3);
  BOOST_REQUIRE(claimed);
  BOOST_TEST(claimed->user == "bob");
  BOOST_TEST(ok(store->remove("bob")));
  ok(store->succeed(*claimed, "w1", "state", false, at(4)));
  BOOST_TEST(ok(store->users("*")).empty());
  BOOST_TEST(ok(store->lease_owners()).empty());
  const auto status = ok(store->status(at(5)));
  BOOST_TEST(status.users == 0u);
  BOOST_TEST(status.running == 0u);
  BOOST_TEST(!claim(*store, "w1", 5));
}

BOOST_DATA_TEST_CASE(unless_synced_since_skips_recently_synced_users,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("alice", Priority::high, 1),
                     request("bob", Priority::high, 1)}));
  auto claimed = claim(*store, "w1", 5);
  BOOST_REQUIRE(claimed);
  ok(store->succeed(*claimed, "w1", "s", false,
                    claimed->user == "alice" ? at(100) : at(10)));
  claimed = claim(*store, "w1", 5);
  BOOST_REQUIRE(claimed);
  ok(store->succeed(*claimed, "w1", "s", false,
                    claimed->user == "alice" ? at(100) : at(10)));
  BOOST_REQUIRE((record(*store, "alice").last_success == at(100)));
  BOOST_REQUIRE((record(*store, "bob").last_success == at(10)));

  std::vector<SyncRequest> sweep;
  for (const char *user : {"alice", "bob", "carol"}) {
    auto swept = request(user, Priority::none, 200);
    swept.unless_synced_since = at(50);
    sweep.push_back(swept);
  }
  ok(store->enqueue(sweep));
  BOOST_TEST(!record(*store, "alice").queued);
  BOOST_TEST(record(*store, "bob").queued);
  BOOST_TEST(record(*store, "carol").queued);
  std::vector<std::string> order;
  while (const auto next = claim(*store, "w1", 201))
    order.push_back(next->user);
  BOOST_TEST(order == (std::vector<std::string>{"bob", "carol"}),
             boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(users_filters_by_glob_and_sorts, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue({request("carol", Priority::low, 1),
                     request("bob@a.org", Priority::low, 1),
                     request("alice@b.org", Priority::low, 1),
                     request("alice@a.org", Priority::low, 1)}));
  using Names = std::vector<std::string>;
  BOOST_TEST(names(ok(store->users("*"))) ==
                 (Names{"alice@a.org", "alice@b.org", "bob@a.org", "carol"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(ok(store->users("*@a.org"))) ==
                 (Names{"alice@a.org", "bob@a.org"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(ok(store->users("alice@?.org"))) ==
                 (Names{"alice@a.org", "alice@b.org"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(ok(store->users("carol"))) == Names{"carol"},
             boost::test_tools::per_element());
  BOOST_TEST(ok(store->users("car")).empty());
  BOOST_TEST(ok(store->users("nobody*")).empty());
}

BOOST_DATA_TEST_CASE(status_counts_the_queue, data::make(k_backends), backend) {
  Subject store(backend);
  auto status = ok(store->status(at(0)));
  BOOST_TEST(status.users == 0u);
  BOOST_TEST(queued(status, Priority::low) == 0u);

  ok(store->enqueue(
      {request("a", Priority::low, 1), request("b", Priority::low, 1),
       request("c", Priority::high, 1), request("d", Priority::sync, 1),
       request("e", Priority::none, 1)}));
  const auto d = claim(*store, "w1", 2); // running
  BOOST_REQUIRE(d);
  BOOST_TEST(d->user == "d");
  const auto c = claim(*store, "w1", 2);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->user == "c");
  ok(store->fail(*c, "w1", "error", at(2), at(100))); // waiting

  status = ok(store->status(at(3)));
  BOOST_TEST(queued(status, Priority::none) == 1u);
  BOOST_TEST(queued(status, Priority::low) == 2u);
  BOOST_TEST(queued(status, Priority::high) == 1u);
  BOOST_TEST(queued(status, Priority::sync) == 1u);
  BOOST_TEST(status.waiting == 1u);
  BOOST_TEST(status.running == 1u);
  BOOST_TEST(status.failed == 1u);
  BOOST_TEST(status.users == 5u);

  ok(store->succeed(*d, "w1", "state", false, at(4)));
  status = ok(store->status(at(200)));
  BOOST_TEST(queued(status, Priority::sync) == 0u);
  BOOST_TEST(queued(status, Priority::high) == 1u);
  BOOST_TEST(status.waiting == 0u); // retry time has come
  BOOST_TEST(status.running == 0u);
  BOOST_TEST(status.failed == 1u);
  BOOST_TEST(status.users == 5u);
}

BOOST_DATA_TEST_CASE(release_owner_gives_back_a_dead_owners_leases,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({request("a", Priority::high, 1),
                     request("b", Priority::high, 2),
                     request("c", Priority::high, 3)}));
  BOOST_REQUIRE(claim(*store, "w1", 4));
  BOOST_REQUIRE(claim(*store, "w1", 4));
  BOOST_REQUIRE(claim(*store, "w2", 4));
  BOOST_TEST(ok(store->lease_owners()) ==
                 (std::vector<std::string>{"w1", "w2"}),
             boost::test_tools::per_element());
  BOOST_TEST(ok(store->status(at(5))).running == 3u);

  BOOST_TEST(ok(store->release_owner("w1")) == 2u);
  BOOST_TEST(ok(store->release_owner("nobody")) == 0u);
  BOOST_TEST(ok(store->lease_owners()) == std::vector<std::string>{"w2"},
             boost::test_tools::per_element());
  BOOST_TEST(claimed_user(claim(*store, "w3", 5)) == "a");
  BOOST_TEST(claimed_user(claim(*store, "w3", 5)) == "b");
  BOOST_TEST(!claim(*store, "w3", 5));
}

BOOST_DATA_TEST_CASE(a_large_batch_is_one_call, data::make(k_backends),
                     backend) {
  Subject store(backend);
  std::vector<SyncRequest> batch;
  for (int i = 0; i < 3000; i++) {
    batch.push_back(request("user" + std::to_string(i % 100),
                            static_cast<Priority>(i % 3), 1000 - i % 500));
  }
  ok(store->enqueue(batch));
  ok(store->enqueue({}));
  const auto status = ok(store->status(at(2000)));
  BOOST_TEST(status.users == 100u);
  BOOST_TEST(queued(status, Priority::high) == 100u);
  const auto user7 = record(*store, "user7");
  BOOST_TEST((user7.requested == at(1000 - 407)));
}

BOOST_DATA_TEST_CASE(concurrent_claims_never_share_a_user,
                     data::make(k_backends), backend) {
  Subject store(backend);
  std::vector<SyncRequest> batch;
  for (int i = 0; i < 200; i++)
    batch.push_back(request("user" + std::to_string(i), Priority::low, i));
  ok(store->enqueue(batch));
  std::mutex mutex;
  std::vector<std::string> claimed;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;
  ReplicationStore &shared = *store;
  for (int w = 0; w < 4; w++) {
    workers.emplace_back(
        [&shared, &mutex, &claimed, &errors, owner = "w" + std::to_string(w)] {
          for (;;) {
            auto next = shared.claim(owner, at(300), 60s);
            const std::lock_guard lock(mutex);
            if (!next)
              errors.push_back(next.error().message);
            if (!next || !*next)
              return;
            claimed.push_back((*next)->user);
          }
        });
  }
  for (auto &worker : workers)
    worker.join();
  BOOST_TEST(errors.empty());
  std::sort(claimed.begin(), claimed.end());
  BOOST_TEST(claimed.size() == 200u);
  BOOST_TEST(
      (std::adjacent_find(claimed.begin(), claimed.end()) == claimed.end()));
}

// the backends' own durability and failure behaviour

BOOST_AUTO_TEST_CASE(sqlite_reopen_keeps_the_queue_and_the_state) {
  const std::string directory = make_temp_directory();
  const std::string path = directory + "/store";
  {
    auto store = ok(SqliteStore::open(path));
    ok(store->enqueue({request("alice", Priority::high, 1),
                       request("bob", Priority::low, 2)}));
    const auto claimed = claim(*store, "w1", 3);
    BOOST_REQUIRE(claimed);
    ok(store->succeed(*claimed, "w1", "alice-state", true, at(4)));
  }
  struct stat info {};
  BOOST_REQUIRE(::stat(path.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == 0700u);
  {
    auto store = ok(SqliteStore::open(path));
    BOOST_TEST(store->describe().find(path) != std::string::npos);
    ok(store->ping());
    const auto alice = record(*store, "alice");
    BOOST_TEST(!alice.queued);
    BOOST_TEST((alice.last_full_sync == at(4)));
    BOOST_TEST(record(*store, "bob").queued);
    BOOST_TEST(claimed_user(claim(*store, "w1", 5)) == "bob");
    ok(store->enqueue({request("alice", Priority::low, 6)}));
    const auto claimed = claim(*store, "w1", 7);
    BOOST_REQUIRE(claimed);
    BOOST_TEST(claimed->dsync_state == "alice-state");
  }
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_refuses_a_newer_schema) {
  const std::string directory = make_temp_directory();
  ok(SqliteStore::open(directory));
  sqlite3 *raw = nullptr;
  BOOST_REQUIRE(sqlite3_open((directory + "/replication.db").c_str(), &raw) ==
                SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr,
                             nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  const auto reopened = SqliteStore::open(directory);
  BOOST_REQUIRE(!reopened);
  BOOST_TEST(kind_of(reopened) == "corrupt");
  BOOST_TEST(reopened.error().message.find("schema version 99") !=
             std::string::npos);
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_a_file_that_is_not_a_database_as_corrupt) {
  const std::string directory = make_temp_directory();
  {
    std::ofstream garbage(directory + "/replication.db");
    garbage << std::string(8192, 'x');
  }
  const auto opened = SqliteStore::open(directory);
  BOOST_TEST(kind_of(opened) == "corrupt");
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_refuses_a_second_daemon_on_the_same_directory) {
  const std::string directory = make_temp_directory();
  {
    auto first = ok(SqliteStore::open(directory));
    ok(first->enqueue({request("alice", Priority::high, 1)}));
    const auto second = SqliteStore::open(directory);
    BOOST_REQUIRE(!second);
    BOOST_TEST(kind_of(second) == "unavailable");
    BOOST_TEST(second.error().message.find("locked") != std::string::npos,
               second.error().message);
    BOOST_TEST(record(*first, "alice").queued);
  }
  // free again once the first is closed
  auto again = ok(SqliteStore::open(directory));
  BOOST_TEST(record(*again, "alice").queued);
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_a_directory_it_cannot_create) {
  const auto opened = SqliteStore::open("/nonexistent/dir/store");
  BOOST_REQUIRE(!opened);
  BOOST_TEST(kind_of(opened) == "unavailable");
  BOOST_TEST(opened.error().message.find("/nonexistent/dir/store") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(sqlite_makes_files_of_an_earlier_version_private) {
  const std::string directory = make_temp_directory();
  const std::string file = directory + "/replication.db";
  {
    auto store = ok(SqliteStore::open(directory));
    ok(store->enqueue({request("alice", Priority::high, 1)}));
  }
  // as an earlier dovewardend left them
  for (const auto &path : {file, file + "-wal"})
    ::chmod(path.c_str(), 0644);
  ::chmod(directory.c_str(), 0755);
  {
    auto store = ok(SqliteStore::open(directory));
    BOOST_TEST(record(*store, "alice").queued);
    ok(store->enqueue({request("bob", Priority::high, 2)}));
    BOOST_TEST(test::mode_of(directory) == 0700u);
    BOOST_TEST(test::mode_of(file) == 0600u);
    BOOST_TEST(test::mode_of(file + "-wal") == 0600u);
  }
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_a_full_disk_as_unavailable) {
  const std::string directory = make_temp_directory();
  auto store = ok(SqliteStore::open(directory));
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  std::vector<SyncRequest> large;
  for (int i = 0; i < 2000; i++)
    large.push_back(
        request(std::string(500, 'u') + std::to_string(i), Priority::low, 2));
  ReplicationStore::Result<void> written;
  {
    const test::FileSizeLimit full(64 * 1024);
    BOOST_REQUIRE(full.set());
    written = store->enqueue(large);
  }
  BOOST_TEST(kind_of(written) == "unavailable");
  // nothing of the batch is kept; with room again the store takes it
  BOOST_TEST(ok(store->status(at(3))).users == 1u);
  ok(store->enqueue(large));
  BOOST_TEST(ok(store->status(at(3))).users == 2001u);
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(redis_without_a_server_returns_errors) {
  RedisStore::Options options;
  options.port = test::free_port();
  options.timeout = 500ms;
  const auto started = std::chrono::steady_clock::now();
  auto store = ok(RedisStore::connect(options));
  BOOST_TEST(kind_of(store->ping()) == "unavailable");
  BOOST_TEST(kind_of(store->enqueue({request("alice", Priority::high, 1)})) ==
             "unavailable");
  BOOST_TEST(kind_of(store->claim("w1", at(1), 60s)) == "unavailable");
  BOOST_TEST(kind_of(store->users("*")) == "unavailable");
  const auto status = store->status(at(1));
  BOOST_REQUIRE(!status);
  BOOST_TEST(kind_of(status) == "unavailable");
  BOOST_TEST(status.error().message.find("127.0.0.1:" +
                                         std::to_string(options.port)) !=
             std::string::npos);
  // generous: the machine is shared, but nothing waits for long
  BOOST_TEST((std::chrono::steady_clock::now() - started < 10s));
}

BOOST_AUTO_TEST_CASE(redis_reconnects_after_a_server_restart) {
  test::RedisServer server({"--appendonly", "yes", "--appendfsync", "always"});
  auto store = connect_redis(server.port(), "restart");
  ok(store->enqueue(
      {request("alice", Priority::high, 1), request("bob", Priority::low, 2)}));
  const auto claimed = claim(*store, "w1", 3);
  BOOST_REQUIRE(claimed);
  ok(store->succeed(*claimed, "w1", "alice-state", false, at(4)));

  server.stop();
  BOOST_TEST(kind_of(store->ping()) == "unavailable");
  server.start();
  BOOST_REQUIRE(test::wait_until_answers(*store));
  const auto alice = record(*store, "alice");
  BOOST_TEST(!alice.queued);
  BOOST_TEST((alice.last_fast_sync == at(4)));
  BOOST_TEST(record(*store, "bob").queued);
  BOOST_TEST(claimed_user(claim(*store, "w1", 5)) == "bob");
}

BOOST_AUTO_TEST_CASE(redis_authenticates_with_the_password) {
  test::RedisServer server({"--requirepass", "s3cret-pass"});
  RedisStore::Options options;
  options.port = server.port();
  options.password = "wrong-pass";
  const auto refused = RedisStore::connect(options);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(kind_of(refused) == "invalid");
  BOOST_TEST(refused.error().message.find("wrong-pass") == std::string::npos);
  options.password = "s3cret-pass";
  auto store = ok(RedisStore::connect(options));
  ok(store->ping());
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  BOOST_TEST(claimed_user(claim(*store, "w1", 2)) == "alice");
}

BOOST_AUTO_TEST_CASE(redis_refuses_invalid_options) {
  RedisStore::Options options;
  options.port = 0;
  BOOST_TEST(kind_of(RedisStore::connect(options)) == "invalid");
  options.port = shared_redis().port();
  options.ns.clear();
  BOOST_TEST(kind_of(RedisStore::connect(options)) == "invalid");
}

BOOST_AUTO_TEST_CASE(redis_reports_a_key_of_another_type_as_corrupt) {
  const std::string ns = "wrong-type-" + std::to_string(::getpid());
  auto store = connect_redis(shared_redis().port(), ns);
  ok(store->enqueue({request("alice", Priority::high, 1)}));
  db::RedisConnection::Options options;
  options.port = shared_redis().port();
  db::RedisConnection raw(options);
  ok(raw.command({"DEL", ns + ":queue"}));
  ok(raw.command({"SET", ns + ":queue", "not a sorted set"}));
  BOOST_TEST(kind_of(store->claim("w1", at(2), 60s)) == "corrupt");
  BOOST_TEST(kind_of(store->status(at(2))) == "corrupt");
}

BOOST_AUTO_TEST_CASE(redis_namespaces_do_not_mix) {
  auto first = connect_redis(shared_redis().port(), "ns-one");
  auto second = connect_redis(shared_redis().port(), "ns-two");
  ok(first->enqueue({request("alice", Priority::high, 1)}));
  BOOST_TEST(ok(second->users("*")).empty());
  BOOST_TEST(!claim(*second, "w1", 2));
  BOOST_TEST(claimed_user(claim(*first, "w1", 2)) == "alice");
  BOOST_TEST(first->describe().find("ns-one") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
