#include "RedisServer.hpp"
#include "StoreSubject.hpp"
#include "TestUtil.hpp"
#include "replication/ReplicationMetrics.hpp"
#include "replication/Replicator.hpp"
#include "store/RedisStore.hpp"
#include "store/SqliteStore.hpp"

#include <boost/test/unit_test.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace dw = dovewarden;
using dw::replication::DoveadmFailure;
using dw::replication::Replicator;
using dw::replication::UserdbFields;
using dw::store::Priority;
using namespace std::chrono_literals;

using dovewarden::test::free_port;
using dovewarden::test::ok;
using dovewarden::test::read_file;
using dovewarden::test::wait_until;

namespace {

// doveadm as the replicator sees it: records every sync and userdb lookup
// and answers what the test says.
class FakeDoveadm {
public:
  struct Call {
    std::string user;
    std::string destination;
    std::string state;
    bool full;
  };
  using Answer =
      std::function<tl::expected<std::string, DoveadmFailure>(const Call &)>;
  using Fields = tl::expected<UserdbFields, DoveadmFailure>;

  Answer answer = [](const Call &call) {
    return tl::expected<std::string, DoveadmFailure>("state-of-" + call.user);
  };
  std::vector<std::string> users;
  std::chrono::milliseconds sync_time{0};
  // false: every request fails as a closed port makes it fail
  std::atomic<bool> reachable{true};
  std::atomic<int> refused{0}; // requests made while not reachable

  // what doveadm user answers for a user; no fields for one not set here
  void set_fields(const std::string &user, Fields fields) {
    std::lock_guard lock(m_mutex);
    m_fields.insert_or_assign(user, std::move(fields));
  }
  std::size_t lookups(const std::string &user) const {
    std::lock_guard lock(m_mutex);
    return std::count(m_lookups.begin(), m_lookups.end(), user);
  }

  Replicator::Doveadm calls() {
    return {[this](const std::string &user, const std::string &destination,
                   const std::string &state, bool full) {
              return sync({user, destination, state, full});
            },
            [this](const std::string &user) { return user_fields(user); },
            [this](const std::string &) {
              return tl::expected<std::vector<std::string>, DoveadmFailure>(
                  users);
            },
            [this] {
              std::lock_guard lock(m_mutex);
              m_cancelled = true;
              m_cv.notify_all();
            }};
  }

  std::vector<Call> history() const {
    std::lock_guard lock(m_mutex);
    return m_history;
  }
  std::size_t count(const std::string &user) const {
    std::lock_guard lock(m_mutex);
    return std::count_if(m_history.begin(), m_history.end(),
                         [&](const Call &c) { return c.user == user; });
  }
  int max_concurrent() const { return m_max_concurrent.load(); }

private:
  static DoveadmFailure connection_refused() {
    return DoveadmFailure{DoveadmFailure::Kind::unreachable,
                          "doveadm at tcp:127.0.0.1:2425: cannot connect: "
                          "Connection refused",
                          0};
  }

  tl::expected<std::string, DoveadmFailure> sync(const Call &call) {
    if (!reachable) {
      refused++;
      return tl::unexpected(connection_refused());
    }
    {
      std::unique_lock lock(m_mutex);
      m_history.push_back(call);
      const int now = ++m_running[call.user];
      m_max_concurrent = std::max(m_max_concurrent.load(), now);
      // a sync takes sync_time, or until cancelled
      m_cv.wait_for(lock, sync_time, [&] { return m_cancelled; });
      m_running[call.user]--;
      if (m_cancelled)
        return tl::unexpected(
            DoveadmFailure{DoveadmFailure::Kind::temporary, "cancelled", 0});
    }
    return answer(call);
  }

  Fields user_fields(const std::string &user) {
    if (!reachable) {
      refused++;
      return tl::unexpected(connection_refused());
    }
    std::lock_guard lock(m_mutex);
    m_lookups.push_back(user);
    const auto found = m_fields.find(user);
    return found != m_fields.end() ? found->second : Fields(UserdbFields{});
  }

  mutable std::mutex m_mutex;
  std::map<std::string, Fields> m_fields;
  std::vector<std::string> m_lookups;
  std::condition_variable m_cv;
  bool m_cancelled = false;
  std::vector<Call> m_history;
  std::map<std::string, int> m_running;
  std::atomic<int> m_max_concurrent{0};
};

struct Fixture {
  Fixture() {
    store = ok(dw::store::SqliteStore::open(dir.path()));
    options.workers = 4;
    options.owner = "test:1";
    options.retry_min = 100ms;
    options.retry_max = 200ms;
    options.sweep_enabled = false;
    options.idle_poll = 50ms;
    options.keeper_interval = 50ms;
    options.target.destination = "tcp:replica:12345";
  }
  ~Fixture() {
    replicator.reset();
    store.reset();
  }

  void start() {
    replicator =
        std::make_unique<Replicator>(options, *store, doveadm.calls(), metrics,
                                     [this](dw::core::Event event) {
                                       std::lock_guard lock(published_mutex);
                                       published.push_back(std::move(event));
                                     });
    replicator->start();
  }

  void queue(const std::string &user, Priority priority = Priority::high,
             bool full = false) {
    ok(store->enqueue({{user, priority, dw::store::Clock::now(), full, {}}}));
    if (replicator)
      replicator->wake();
  }

  // Queues user behind everything else and returns once its sync began: with
  // one worker, whatever was due before it has been tried by then.
  void sync_last(const std::string &user) {
    queue(user, Priority::none);
    BOOST_REQUIRE(wait_until([&] { return doveadm.count(user) == 1; }));
  }

  // Queues user, and again once synced; returns once synced twice.
  void sync_twice(const std::string &user) {
    for (std::size_t synced = 1; synced <= 2; synced++) {
      queue(user);
      BOOST_REQUIRE(wait_until([&] {
        return doveadm.count(user) == synced && !record(user).queued;
      }));
    }
  }

  dw::store::UserRecord record(const std::string &user) {
    const auto records = ok(store->users(user));
    BOOST_REQUIRE_EQUAL(records.size(), 1u);
    return records.front();
  }

  // Returns the value of the sample of metrics that line starts, or -1.
  double metric(const std::string &line) {
    const std::string text =
        prometheus::TextSerializer().Serialize(registry.Collect());
    const auto at = text.find("\n" + line + " ");
    if (at == std::string::npos)
      return -1;
    return std::stod(text.substr(at + line.size() + 2));
  }

  std::size_t published_count(const std::string &type) {
    std::lock_guard lock(published_mutex);
    return std::count_if(published.begin(), published.end(),
                         [&](const auto &e) { return e.type() == type; });
  }

  dw::test::TempDir dir; // outlives the store in it
  std::unique_ptr<dw::store::ReplicationStore> store;
  prometheus::Registry registry;
  dw::replication::ReplicationMetrics metrics{registry};
  FakeDoveadm doveadm;
  Replicator::Options options;
  std::unique_ptr<Replicator> replicator;
  std::mutex published_mutex;
  std::vector<dw::core::Event> published;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(replicator, Fixture)

BOOST_AUTO_TEST_CASE(first_sync_is_full_then_incremental_from_the_kept_state) {
  start();
  queue("alice");
  BOOST_REQUIRE(wait_until([&] {
    return !record("alice").queued &&
           record("alice").last_success != dw::store::TimePoint{};
  }));
  queue("alice", Priority::low);
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 2; }));
  const auto calls = doveadm.history();
  BOOST_TEST(calls[0].full);
  BOOST_TEST(calls[0].state == "");
  BOOST_TEST(!calls[1].full);
  BOOST_TEST(calls[1].state == "state-of-alice");
  BOOST_REQUIRE(wait_until(
      [&] { return published_count("replication.succeeded") == 2; }));
  const auto alice = record("alice");
  BOOST_TEST((alice.last_full_sync != dw::store::TimePoint{}));
  BOOST_TEST((alice.last_fast_sync >= alice.last_full_sync));
}

BOOST_AUTO_TEST_CASE(a_full_sync_on_request_and_when_the_interval_passed) {
  options.full_sync_interval = 1h;
  start();
  queue("alice");
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 1; }));
  BOOST_REQUIRE(wait_until([&] { return !record("alice").queued; }));
  queue("alice", Priority::sync, true);
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 2; }));
  BOOST_TEST(doveadm.history()[1].full);
  BOOST_TEST(doveadm.history()[1].state == "");
}

BOOST_AUTO_TEST_CASE(failures_back_off_instead_of_hot_looping) {
  doveadm.answer = [](const FakeDoveadm::Call &) {
    return tl::expected<std::string, DoveadmFailure>(tl::unexpected(
        DoveadmFailure{DoveadmFailure::Kind::temporary, "replica down", 75}));
  };
  start();
  queue("alice");
  // the tries are counted over a time: how many fit in it is under test
  std::this_thread::sleep_for(1500ms);
  // waits of 100-200 ms (+-20%): about 8 tries; a hot loop makes thousands
  const auto tries = doveadm.count("alice");
  BOOST_TEST(tries >= 2u);
  BOOST_TEST(tries <= 20u);
  const auto alice = record("alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.failed);
  BOOST_TEST(alice.last_error == "replica down");
  BOOST_TEST(published_count("replication.failed") >= 2u);

  // the replica is back: the next try succeeds and clears the failure
  doveadm.answer = [](const FakeDoveadm::Call &) {
    return tl::expected<std::string, DoveadmFailure>("s");
  };
  BOOST_REQUIRE(wait_until([&] { return !record("alice").queued; }));
  BOOST_TEST(!record("alice").failed);
}

BOOST_AUTO_TEST_CASE(a_retry_after_a_failed_sync_is_full_then_fast_again) {
  // dsync's answer to a stale state: exit code 2, and the same again for as
  // long as that state is passed
  auto fulls = std::make_shared<std::atomic<int>>(0);
  doveadm.answer = [fulls](const FakeDoveadm::Call &call) {
    using Answer = tl::expected<std::string, DoveadmFailure>;
    if (call.full)
      return Answer(++*fulls == 1 ? "stale" : "fresh");
    if (call.state == "stale")
      return Answer(tl::unexpected(DoveadmFailure{
          DoveadmFailure::Kind::temporary, "doveadm sync: exit code 2", 2}));
    return Answer(call.state);
  };
  start();
  queue("alice");
  BOOST_REQUIRE(wait_until(
      [&] { return doveadm.count("alice") == 1 && !record("alice").queued; }));
  queue("alice");
  BOOST_REQUIRE(wait_until(
      [&] { return doveadm.count("alice") == 3 && !record("alice").queued; }));
  queue("alice");
  BOOST_REQUIRE(wait_until(
      [&] { return doveadm.count("alice") == 4 && !record("alice").queued; }));
  const auto calls = doveadm.history();
  BOOST_TEST(!calls[1].full);
  BOOST_TEST(calls[1].state == "stale");
  BOOST_TEST(calls[2].full);
  BOOST_TEST(calls[2].state == "");
  BOOST_TEST(!calls[3].full);
  BOOST_TEST(calls[3].state == "fresh");
  BOOST_TEST(!record("alice").failed);
}

BOOST_AUTO_TEST_CASE(unknown_users_leave_the_queue) {
  // unknown to the destination: sync answers 67; unknown here: so does
  // doveadm user, and no sync is tried
  doveadm.answer = [](const FakeDoveadm::Call &) {
    return tl::expected<std::string, DoveadmFailure>(tl::unexpected(
        DoveadmFailure{DoveadmFailure::Kind::no_such_user, "no", 67}));
  };
  doveadm.set_fields("nobody", tl::unexpected(DoveadmFailure{
                                   DoveadmFailure::Kind::no_such_user,
                                   "doveadm user: exit code 67", 67}));
  options.workers = 1; // for sync_last()
  start();
  queue("ghost");
  queue("nobody");
  BOOST_REQUIRE(wait_until([&] { return ok(store->users("*")).empty(); }));
  BOOST_TEST(published_count("replication.failed") == 2u);
  BOOST_TEST(replicator->noreplicate().skipped == 0u);
  // neither is tried again
  sync_last("carol");
  BOOST_TEST(doveadm.count("ghost") == 1u);
  BOOST_TEST(doveadm.count("nobody") == 0u);
  BOOST_TEST(doveadm.lookups("nobody") == 1u);
}

BOOST_AUTO_TEST_CASE(
    noreplicate_users_are_skipped_counted_and_leave_the_queue) {
  doveadm.set_fields("private",
                     UserdbFields{{"uid", "5000"}, {"noreplicate", "yes"}});
  doveadm.set_fields("public", UserdbFields{{"noreplicate", "no"}});
  start();
  queue("private");
  queue("public");
  // out of the store: nothing is left to claim it again
  BOOST_REQUIRE(wait_until([&] {
    return ok(store->users("private")).empty() &&
           doveadm.count("public") == 1 && !record("public").queued;
  }));
  BOOST_TEST(replicator->noreplicate().skipped == 1u);
  BOOST_TEST(doveadm.count("private") == 0u);
  BOOST_TEST(metric("dovewarden_replication_noreplicate_skips_total") == 1);
  BOOST_TEST(metric("dovewarden_doveadm_requests_total{command=\"user\","
                    "result=\"ok\"}") == 2);
  BOOST_TEST(published_count("replication.failed") == 0u);
  // its next change is skipped again, from the cached fields
  queue("private");
  BOOST_REQUIRE(
      wait_until([&] { return ok(store->users("private")).empty(); }));
  const auto summary = replicator->noreplicate();
  BOOST_TEST(summary.skipped == 2u);
  BOOST_TEST(summary.recent == std::vector<std::string>{"private"},
             boost::test_tools::per_element());
  BOOST_TEST(doveadm.lookups("private") == 1u);
  BOOST_TEST(doveadm.count("private") == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_userdb_lookup_backs_off_like_a_failed_sync) {
  doveadm.set_fields("alice", tl::unexpected(DoveadmFailure{
                                  DoveadmFailure::Kind::temporary,
                                  "doveadm user: exit code 75", 75}));
  start();
  queue("alice");
  // the tries are counted over a time: how many fit in it is under test
  std::this_thread::sleep_for(1500ms);
  // each lookup is counted once it has returned
  const double counted =
      metric("dovewarden_doveadm_requests_total{command=\"user\","
             "result=\"temporary\"}");
  // waits of 100-200 ms (+-20%): about 8 tries; a hot loop makes thousands
  const auto tries = doveadm.lookups("alice");
  BOOST_TEST(tries >= 2u);
  BOOST_TEST(tries <= 20u);
  BOOST_TEST((counted == tries || counted + 1 == tries));
  BOOST_TEST(doveadm.count("alice") == 0u);
  const auto alice = record("alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.failed);
  BOOST_TEST(alice.last_error == "doveadm user: exit code 75");

  doveadm.set_fields("alice", UserdbFields{});
  BOOST_REQUIRE(wait_until([&] { return !record("alice").queued; }));
  BOOST_TEST(doveadm.count("alice") == 1u);
}

BOOST_AUTO_TEST_CASE(each_user_goes_to_its_mail_replica_when_asked) {
  options.target.from_userdb = true;
  doveadm.set_fields("bob", UserdbFields{{"mail_replica", "tcp:bobs:4711"}});
  doveadm.set_fields("carol", UserdbFields{{"mail_replica", ""}});
  start();
  for (const char *user : {"alice", "bob", "carol"})
    queue(user);
  BOOST_REQUIRE(wait_until([&] { return doveadm.history().size() == 3; }));
  for (const auto &call : doveadm.history()) {
    BOOST_TEST_CONTEXT(call.user) {
      BOOST_TEST(call.destination ==
                 (call.user == "bob" ? "tcp:bobs:4711" : "tcp:replica:12345"));
    }
  }
}

BOOST_AUTO_TEST_CASE(mail_replica_is_not_read_unless_asked) {
  doveadm.set_fields("bob", UserdbFields{{"mail_replica", "tcp:bobs:4711"}});
  start();
  queue("bob");
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("bob") == 1; }));
  BOOST_TEST(doveadm.history()[0].destination == "tcp:replica:12345");
}

BOOST_AUTO_TEST_CASE(userdb_fields_are_looked_up_again_only_after_the_ttl) {
  options.userdb.ttl = 1h;
  start();
  sync_twice("alice");
  BOOST_TEST(doveadm.lookups("alice") == 1u);
}

BOOST_AUTO_TEST_CASE(a_zero_ttl_looks_the_userdb_up_for_every_sync) {
  options.userdb.ttl = 0ms;
  start();
  sync_twice("alice");
  BOOST_TEST(doveadm.lookups("alice") == 2u);
}

BOOST_AUTO_TEST_CASE(
    never_two_syncs_of_one_user_and_changes_during_a_sync_sync_again) {
  doveadm.sync_time = 100ms;
  options.workers = 8;
  start();
  queue("alice");
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 1; }));
  // changes while the first sync runs
  for (int i = 0; i < 20; i++) {
    queue("alice");
    // the changes come over about as long as the sync takes
    std::this_thread::sleep_for(5ms);
  }
  BOOST_REQUIRE(wait_until(
      [&] { return doveadm.count("alice") >= 2 && !record("alice").queued; }));
  BOOST_TEST(doveadm.max_concurrent() == 1);
  // coalesced: far fewer syncs than changes
  BOOST_TEST(doveadm.count("alice") <= 4u);
}

BOOST_AUTO_TEST_CASE(stop_cancels_running_syncs_and_keeps_their_users_queued) {
  doveadm.sync_time = 1h;
  start();
  queue("alice");
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 1; }));
  const auto started = std::chrono::steady_clock::now();
  replicator->stop();
  BOOST_TEST((std::chrono::steady_clock::now() - started < 5s));
  const auto alice = record("alice");
  BOOST_TEST(alice.queued);
  BOOST_TEST(alice.owner == "");
  BOOST_TEST(!alice.failed);
}

BOOST_AUTO_TEST_CASE(workers_wait_while_doveadm_is_unreachable_then_sync_all) {
  // a burst of users, doveadm's port closed: the workers must not burn
  // through the queue writing a failure per user (each write takes the
  // store from the intake), and no user may be forgotten
  options.doveadm_backoff = {100ms, 400ms};
  std::vector<dw::store::SyncRequest> burst;
  for (int i = 0; i < 300; i++)
    burst.push_back({"user" + std::to_string(i), Priority::high,
                     dw::store::Clock::now(), false, std::nullopt});
  ok(store->enqueue(burst));
  doveadm.reachable = false;
  const auto started = std::chrono::steady_clock::now();
  start();
  // the first requests of the workers, then four tries of the backoff
  BOOST_REQUIRE(wait_until([&] { return doveadm.refused >= 8; }));
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(!replicator->doveadm_up());
  BOOST_TEST(metric("dovewarden_doveadm_up") == 0);
  // 0.8 x (100 + 200 + 400) ms at least between the tries
  BOOST_TEST((took >= 560ms));
  const auto waiting = ok(store->status(dw::store::Clock::now()));
  BOOST_TEST(waiting.failed == 0u); // nothing recorded against a user
  BOOST_TEST(waiting.queued[static_cast<int>(Priority::high)] == 300u);

  doveadm.reachable = true;
  BOOST_REQUIRE(wait_until([&] {
    return ok(store->status(dw::store::Clock::now()))
               .queued[static_cast<int>(Priority::high)] == 0u;
  }));
  for (const auto &request : burst)
    BOOST_TEST(doveadm.count(request.user) == 1u, request.user);
  BOOST_TEST(replicator->doveadm_up());
  BOOST_TEST(metric("dovewarden_doveadm_up") == 1);
}

BOOST_AUTO_TEST_CASE(
    the_store_is_not_ok_while_its_disk_is_full_though_it_answers_reads) {
  start();
  sync_last("alice");
  dw::store::ReplicationStore::Result<void> written;
  bool ok_while_full = true;
  {
    // no write takes even one page; reads, and the keeper's status, work
    const dw::test::FileSizeLimit full(1024);
    BOOST_REQUIRE(full.set());
    // the feed's write, on a thread of its own
    std::thread([&] {
      written = store->enqueue(
          {{"bob", Priority::high, dw::store::Clock::now(), false, {}}});
    }).join();
    // the keeper looks every 50 ms, and probes a write after about 1 s
    ok_while_full = wait_until([&] { return replicator->store_ok(); }, 2500ms);
  }
  BOOST_TEST(dw::test::kind_of(written) == "unavailable");
  BOOST_TEST(!ok_while_full);
  BOOST_TEST(wait_until([&] { return replicator->store_ok(); }));
  queue("bob");
  BOOST_TEST(wait_until([&] { return doveadm.count("bob") == 1; }));
}

BOOST_AUTO_TEST_CASE(
    a_change_after_a_lost_succeed_is_synced_once_the_store_answers_again) {
  // Redis goes away between the end of a sync and the write of its outcome,
  // and comes back with what it held (the user still leased to this daemon);
  // a change queued then must lead to another sync, not wait for the lease
  dw::test::RedisServer server(
      {"--appendonly", "yes", "--appendfsync", "always"});
  dw::store::RedisStore::Options redis;
  redis.port = server.port();
  redis.ns = "replicator-test";
  store = ok(dw::store::RedisStore::connect(redis));
  options.lease = 1h;
  std::atomic<bool> stopped{false};
  doveadm.answer = [&](const FakeDoveadm::Call &call) {
    if (!stopped.exchange(true))
      server.stop(); // SIGTERM: the append-only file keeps every write
    return tl::expected<std::string, DoveadmFailure>("state-of-" + call.user);
  };
  start();
  queue("alice");
  BOOST_REQUIRE(wait_until(
      [&] { return published_count("replication.succeeded") == 1; }));
  BOOST_TEST(!replicator->store_ok());
  server.start();
  queue("alice"); // a change after the store is back
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 2; }));
  BOOST_REQUIRE(wait_until([&] {
    const auto alice = record("alice");
    return !alice.queued && alice.owner.empty();
  }));
  BOOST_TEST((record("alice").last_success != dw::store::TimePoint{}));
  // ok again once the keeper's write probe, on its backoff, succeeds
  BOOST_TEST(wait_until([&] { return replicator->store_ok(); }));
  replicator.reset(); // before the server goes
}

BOOST_AUTO_TEST_CASE(leases_of_a_dead_daemon_of_this_host_are_given_back) {
  ok(store->enqueue(
      {{"alice", Priority::high, dw::store::Clock::now(), false, {}}}));
  // pid 999999999 does not exist; "elsewhere" is another host's daemon
  const auto dead =
      ok(store->claim("test:999999999", dw::store::Clock::now(), 1h));
  BOOST_REQUIRE(dead);
  ok(store->enqueue(
      {{"bob", Priority::high, dw::store::Clock::now(), false, {}}}));
  BOOST_REQUIRE(ok(store->claim("elsewhere:1", dw::store::Clock::now(), 1h)));
  options.workers = 1; // for sync_last()
  start();
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("alice") == 1; }));
  sync_last("carol");
  BOOST_TEST(doveadm.count("bob") == 0u);
}

BOOST_AUTO_TEST_CASE(a_lease_whose_owner_names_no_pid_is_kept) {
  ok(store->enqueue(
      {{"alice", Priority::high, dw::store::Clock::now(), false, {}}}));
  // this host's name, but no number after it: no process to ask about
  BOOST_REQUIRE(
      ok(store->claim("test:999999999x", dw::store::Clock::now(), 1h)));
  options.workers = 1; // for sync_last()
  start();
  sync_last("carol");
  BOOST_TEST(doveadm.count("alice") == 0u);
  BOOST_TEST(record("alice").owner == "test:999999999x");
}

BOOST_AUTO_TEST_CASE(the_sweep_queues_users_not_synced_within_the_threshold) {
  options.sweep_enabled = true;
  options.sweep_threshold = 1h;
  doveadm.users = {"alice", "bob"};
  // alice synced a minute ago
  ok(store->enqueue(
      {{"alice", Priority::high, dw::store::Clock::now(), false, {}}}));
  const auto claim = ok(store->claim("x:1", dw::store::Clock::now(), 1h));
  BOOST_REQUIRE(claim);
  ok(store->succeed(*claim, "x:1", "st", true, dw::store::Clock::now() - 1min));
  options.workers = 1; // for sync_last()
  start();
  BOOST_REQUIRE(wait_until([&] { return doveadm.count("bob") == 1; }));
  sync_last("carol");
  BOOST_TEST(doveadm.count("alice") == 0u);
}

BOOST_AUTO_TEST_CASE(backoff_doubles_within_bounds_with_jitter) {
  Replicator::Options o;
  o.retry_min = 1000ms;
  o.retry_max = 8000ms;
  for (int i = 0; i < 50; i++) {
    const auto first = Replicator::backoff(o, 1).count();
    BOOST_TEST((first >= 800 && first <= 1200));
    const auto third = Replicator::backoff(o, 3).count();
    BOOST_TEST((third >= 3200 && third <= 4800));
    const auto late = Replicator::backoff(o, 60).count();
    BOOST_TEST((late >= 6400 && late <= 8000));
  }
}

BOOST_AUTO_TEST_SUITE_END()
