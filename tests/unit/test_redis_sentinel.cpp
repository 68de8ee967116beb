#include "FreePort.hpp"
#include "RedisServer.hpp"
#include "Wait.hpp"
#include "db/RedisConnection.hpp"
#include "store/RedisStore.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

using namespace dovewarden;
using namespace std::chrono_literals;
using db::RedisConnection;
using db::StoreFailure;
using test::RedisServer;

namespace {

constexpr const char *k_master = "mymaster";

util::ListenAddress loopback(int port) {
  return util::ListenAddress{"127.0.0.1", static_cast<std::uint16_t>(port)};
}

// A sentinel that watches the server on port as k_master, quick to call it
// down and to fail over.
std::unique_ptr<RedisServer> sentinel_of(int port,
                                         const std::string &extra = {}) {
  const std::string name = k_master;
  return std::make_unique<RedisServer>(RedisServer::Sentinel{
      "sentinel monitor " + name + " 127.0.0.1 " + std::to_string(port) +
      " 1\n"
      "sentinel down-after-milliseconds " +
      name + " 300\nsentinel failover-timeout " + name + " 2000\n" + extra});
}

std::unique_ptr<RedisServer> replica_of(const RedisServer &master) {
  return std::make_unique<RedisServer>(std::vector<std::string>{
      "--replicaof", "127.0.0.1", std::to_string(master.port())});
}

RedisConnection::Options through(std::vector<util::ListenAddress> sentinels) {
  RedisConnection::Options options;
  options.host.clear(); // only the sentinels say where the master is
  options.port = 0;
  options.timeout = 500ms;
  options.sentinel.sentinels = std::move(sentinels);
  return options;
}

// A plain connection to one server or sentinel, to look behind the back of
// the connection under test.
RedisConnection direct(int port) {
  RedisConnection::Options options;
  options.port = port;
  return RedisConnection(options);
}

std::string text_of(const db::Result<RedisConnection::Reply> &reply) {
  return reply ? RedisConnection::text(reply->get()) : reply.error().message;
}

// The port of the server that connection talks to.
std::string port_behind(RedisConnection &connection) {
  const auto reply = connection.command({"CONFIG", "GET", "port"});
  if (!reply || (*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements != 2)
    return text_of(reply);
  return RedisConnection::text((*reply)->element[1]);
}

// Waits until the sentinel on port knows a replica of its master that is
// in sync, which it may then promote.
bool knows_a_replica(int port) {
  auto sentinel = direct(port);
  return test::wait_until(
      [&] {
        const auto reply = sentinel.command({"SENTINEL", "replicas", k_master});
        if (!reply || (*reply)->elements == 0)
          return false;
        // a replica Sentinel may promote: one whose link to the master is up
        const redisReply *fields = (*reply)->element[0];
        bool replica = false, linked = false;
        for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
          const auto key = RedisConnection::text(fields->element[i]);
          const auto value = RedisConnection::text(fields->element[i + 1]);
          if (key == "flags")
            replica = value == "slave";
          else if (key == "master-link-status")
            linked = value == "ok";
        }
        return replica && linked;
      },
      20s);
}

const char *kind_of(const StoreFailure &failure) {
  return db::failure_kind_name(failure.kind);
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(redis_sentinel)

BOOST_AUTO_TEST_CASE(asks_the_sentinels_in_turn_for_the_master) {
  RedisServer master;
  const auto sentinel = sentinel_of(master.port());
  RedisConnection connection(
      through({loopback(test::free_port()), loopback(sentinel->port())}));
  BOOST_TEST(text_of(connection.command({"SET", "key", "value"})) == "OK");
  auto behind = direct(master.port());
  BOOST_TEST(text_of(behind.command({"GET", "key"})) == "value");
  BOOST_TEST(
      connection.description() ==
      "redis master mymaster of sentinel 127.0.0.1:" +
          std::to_string(connection.options().sentinel.sentinels[0].port) +
          ",127.0.0.1:" + std::to_string(sentinel->port()) +
          " namespace dovewarden");
}

BOOST_AUTO_TEST_CASE(refuses_a_server_that_is_not_the_master) {
  RedisServer master;
  const auto replica = replica_of(master);
  // a sentinel with a stale view: it names the replica
  const auto sentinel = sentinel_of(replica->port());
  RedisConnection connection(through({loopback(sentinel->port())}));
  const auto refused = connection.command({"SET", "key", "value"});
  BOOST_REQUIRE(!refused);
  BOOST_TEST(kind_of(refused.error()) == "unavailable");
  BOOST_TEST(contains(refused.error().message, "not the master"));
  BOOST_TEST(contains(refused.error().message,
                      "127.0.0.1:" + std::to_string(replica->port())));
}

BOOST_AUTO_TEST_CASE(follows_a_failover) {
  RedisServer master;
  const auto replica = replica_of(master);
  const auto sentinel = sentinel_of(master.port());
  BOOST_REQUIRE(knows_a_replica(sentinel->port()));
  RedisConnection connection(through({loopback(sentinel->port())}));
  BOOST_TEST(port_behind(connection) == std::to_string(master.port()));

  auto asked = direct(sentinel->port());
  // under load Sentinel may still answer NOGOODSLAVE until its next look at
  // the replica
  BOOST_TEST(test::wait_until(
      [&] {
        return text_of(asked.command({"SENTINEL", "FAILOVER", k_master})) ==
               "OK";
      },
      20s));
  // the calls during the failover may fail; the connection finds the new
  // master by itself, and does not wait until Sentinel makes the old one a
  // replica (seconds later), which takes writes meanwhile that are lost
  BOOST_TEST(test::wait_until(
      [&] {
        return port_behind(connection) == std::to_string(replica->port());
      },
      20s));
  auto deposed = direct(master.port());
  const auto role = deposed.command({"ROLE"});
  BOOST_REQUIRE(role);
  BOOST_TEST(RedisConnection::text((*role)->element[0]) == "master");
  BOOST_TEST(text_of(connection.command({"SET", "after", "failover"})) == "OK");
  auto behind = direct(replica->port());
  BOOST_TEST(text_of(behind.command({"GET", "after"})) == "failover");
}

BOOST_AUTO_TEST_CASE(a_readonly_reply_makes_it_ask_the_sentinels_again) {
  RedisServer master;
  const auto replica = replica_of(master);
  const auto sentinel = sentinel_of(master.port());
  RedisConnection connection(through({loopback(sentinel->port())}));
  BOOST_TEST(port_behind(connection) == std::to_string(master.port()));

  // the roles swap behind the sentinel's back, which keeps the connection
  // open and still names the old master
  auto promoted = direct(replica->port());
  auto demoted = direct(master.port());
  BOOST_TEST(text_of(promoted.command({"REPLICAOF", "NO", "ONE"})) == "OK");
  BOOST_TEST(text_of(demoted.command({"REPLICAOF", "127.0.0.1",
                                      std::to_string(replica->port())})) ==
             "OK");
  const auto refused = connection.command({"SET", "key", "value"});
  BOOST_REQUIRE(!refused);
  BOOST_TEST(contains(refused.error().message, "READONLY"));
  // the next call asks the sentinel and checks the ROLE of what it names
  const auto asked = connection.command({"SET", "key", "value"});
  BOOST_REQUIRE(!asked);
  BOOST_TEST(contains(asked.error().message, "not the master"));

  // once the sentinel is told of the new master, the connection goes there
  auto told = direct(sentinel->port());
  BOOST_TEST(text_of(told.command({"SENTINEL", "REMOVE", k_master})) == "OK");
  BOOST_TEST(text_of(told.command({"SENTINEL", "MONITOR", k_master, "127.0.0.1",
                                   std::to_string(replica->port()), "1"})) ==
             "OK");
  BOOST_TEST(test::wait_until(
      [&] {
        return connection.command({"SET", "key", "value"}).has_value();
      },
      5s));
  BOOST_TEST(port_behind(connection) == std::to_string(replica->port()));
}

BOOST_AUTO_TEST_CASE(a_sentinel_that_stops_answering_slows_one_call_only) {
  RedisServer master;
  const auto first = sentinel_of(master.port());
  const auto second = sentinel_of(master.port());
  RedisConnection connection(
      through({loopback(first->port()), loopback(second->port())}));
  BOOST_TEST(text_of(connection.command({"PING"})) == "PONG");

  // the first sentinel takes connections and answers nothing
  ::kill(first->pid(), SIGSTOP);
  struct Continue {
    pid_t pid;
    ~Continue() { ::kill(pid, SIGCONT); }
  } resume{first->pid()};
  int slow = 0;
  const auto end = std::chrono::steady_clock::now() + 3500ms;
  while (std::chrono::steady_clock::now() < end) {
    const auto started = std::chrono::steady_clock::now();
    BOOST_TEST(text_of(connection.command({"PING"})) == "PONG");
    if (std::chrono::steady_clock::now() - started >= 500ms)
      slow++;
    std::this_thread::sleep_for(50ms);
  }
  // the check of the master that waited for it; the next ones ask the
  // second sentinel
  BOOST_TEST(slow == 1);
}

BOOST_AUTO_TEST_CASE(a_master_name_no_sentinel_knows_stops_the_start) {
  RedisServer master;
  const auto sentinel = sentinel_of(master.port());
  auto options = through({loopback(sentinel->port())});
  options.sentinel.master = "nosuch";
  const auto refused = store::RedisStore::connect(options);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(kind_of(refused.error()) == "invalid");
  BOOST_TEST(contains(refused.error().message, "no master named \"nosuch\""));
}

BOOST_AUTO_TEST_CASE(authenticates_with_the_sentinels_password) {
  RedisServer master;
  const auto sentinel =
      sentinel_of(master.port(), "requirepass s3cret-sentinel\n");
  auto options = through({loopback(sentinel->port())});
  const auto without = store::RedisStore::connect(options);
  BOOST_REQUIRE(!without);
  BOOST_TEST(kind_of(without.error()) == "invalid");
  BOOST_TEST(contains(without.error().message, "NOAUTH"));

  options.sentinel.password = "wrong-pass";
  const auto wrong = store::RedisStore::connect(options);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST(kind_of(wrong.error()) == "invalid");
  BOOST_TEST(!contains(wrong.error().message, "wrong-pass"));

  options.sentinel.password = "s3cret-sentinel";
  const auto store = store::RedisStore::connect(options);
  BOOST_REQUIRE(store);
  BOOST_TEST(store->get()->ping().has_value());
}

BOOST_AUTO_TEST_CASE(unreachable_sentinels_leave_the_store_unavailable) {
  const auto store = store::RedisStore::connect(
      through({loopback(test::free_port()), loopback(test::free_port())}));
  BOOST_REQUIRE(store);
  const auto failed = store->get()->ping();
  BOOST_REQUIRE(!failed);
  BOOST_TEST(kind_of(failed.error()) == "unavailable");
  BOOST_TEST(contains(failed.error().message, "no master found"));
}

BOOST_AUTO_TEST_CASE(waits_before_asking_again_after_a_failed_search) {
  // a sentinel that takes connections and never answers
  auto [listener, port] = test::loopback_listener();
  ::fcntl(listener.get(), F_SETFL, O_NONBLOCK);
  std::vector<util::Fd> accepted;
  auto accept_all = [&, &listener = listener] {
    std::size_t count = 0;
    while (true) {
      util::Fd fd(::accept(listener.get(), nullptr, nullptr));
      if (!fd)
        return count;
      accepted.push_back(std::move(fd));
      count++;
    }
  };
  auto options = through({loopback(port)});
  options.timeout = 100ms;
  RedisConnection connection(options);
  BOOST_TEST(!connection.command({"PING"}));
  BOOST_TEST(accept_all() == 1u);
  // at once: the backoff answers without asking
  const auto failed = connection.command({"PING"});
  BOOST_REQUIRE(!failed);
  BOOST_TEST(contains(failed.error().message, "no master found"));
  BOOST_TEST(accept_all() == 0u);
  // later: it asks again
  BOOST_TEST(test::wait_until(
      [&] {
        (void)connection.command({"PING"});
        return accept_all() > 0;
      },
      5s));
}

BOOST_AUTO_TEST_CASE(refuses_invalid_sentinel_options) {
  auto options = through({loopback(26379)});
  options.sentinel.master.clear();
  BOOST_TEST(kind_of(RedisConnection::validate(options).error()) == "invalid");
  options = through({util::ListenAddress{"", 26379}});
  BOOST_TEST(kind_of(RedisConnection::validate(options).error()) == "invalid");
}

BOOST_AUTO_TEST_SUITE_END()
