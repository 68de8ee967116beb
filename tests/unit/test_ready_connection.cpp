// The connection opened ahead for the next doveadm request, against a unix
// socket the test listens on.
#include "TestUtil.hpp"
#include "replication/DoveadmConnection.hpp"
#include "replication/ReadyConnection.hpp"
#include "util/Fd.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

using dovewarden::replication::DoveadmConnection;
using dovewarden::replication::DoveadmFailure;
using dovewarden::replication::ReadyConnection;
using dovewarden::test::TempDir;
using dovewarden::test::wait_until;
using dovewarden::util::Fd;
using Clock = DoveadmConnection::Clock;
using namespace std::chrono_literals;

namespace {

// Returns a socket listening at path.
Fd listen_at(const std::string &path) {
  Fd listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  BOOST_REQUIRE(listener);
  BOOST_REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr *>(&address),
                       sizeof(address)) == 0);
  BOOST_REQUIRE(::listen(listener.get(), 16) == 0);
  return listener;
}

// Returns whether the other end closed fd: it reads the end of the stream.
bool closed_by_peer(const Fd &fd) {
  char byte;
  return ::recv(fd.get(), &byte, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

// doveadm's server socket in a fresh directory, and a ReadyConnection for
// it whose open() counts its calls.
struct Fixture {
  TempDir dir;
  const std::string path = dir.path() + "/doveadm-server";
  Fd listener = listen_at(path);
  std::atomic<bool> cancelled{false};
  int opened = 0;
  bool refused = false; // open() fails while set

  ReadyConnection::Open open() {
    return [this]() -> tl::expected<std::unique_ptr<DoveadmConnection>,
                                    DoveadmFailure> {
      opened++;
      auto connection = std::make_unique<DoveadmConnection>(cancelled, path);
      connection->set_deadline(Clock::now() + 10s);
      const auto connected = connection->open_unix(
          refused ? dir.path() + "/no-such-socket" : path);
      if (!connected)
        return tl::unexpected(connected.error());
      return connection;
    };
  }
  // Returns doveadm's end of the next connection.
  Fd accept() {
    Fd connection(::accept(listener.get(), nullptr, nullptr));
    BOOST_REQUIRE(connection);
    return connection;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(ready_connection, Fixture)

BOOST_AUTO_TEST_CASE(a_prepared_connection_is_taken_once) {
  ReadyConnection ready(10s, path);
  BOOST_TEST((ready.take() == nullptr));
  ready.prepare(open());
  const auto doveadm = accept();
  auto taken = ready.take();
  BOOST_REQUIRE(taken);
  BOOST_TEST((ready.take() == nullptr));
  // it is the connection doveadm accepted
  BOOST_REQUIRE(taken->send("\t\tuser\talice\n"));
  char buffer[64];
  const auto got = ::recv(doveadm.get(), buffer, sizeof(buffer), 0);
  BOOST_TEST(std::string(buffer, got > 0 ? got : 0) == "\t\tuser\talice\n");
}

BOOST_AUTO_TEST_CASE(one_connection_waits_at_most) {
  ReadyConnection ready(10s, path);
  ready.prepare(open());
  ready.prepare(open());
  BOOST_TEST(opened == 1);
  const auto doveadm = accept();
  BOOST_TEST((ready.take() != nullptr));
  ready.prepare(open());
  BOOST_TEST(opened == 2);
}

BOOST_AUTO_TEST_CASE(a_failed_open_leaves_the_next_request_to_connect) {
  ReadyConnection ready(10s, path);
  refused = true;
  ready.prepare(open());
  BOOST_TEST(opened == 1);
  BOOST_TEST((ready.take() == nullptr));
  refused = false;
  ready.prepare(open());
  const auto doveadm = accept();
  BOOST_TEST(opened == 2);
  BOOST_TEST((ready.take() != nullptr));
}

BOOST_AUTO_TEST_CASE(a_connection_doveadm_closed_is_not_taken) {
  ReadyConnection ready(10s, path);
  ready.prepare(open());
  accept().reset(); // as doveadm's process does when Dovecot stops
  BOOST_TEST((ready.take() == nullptr));
}

BOOST_AUTO_TEST_CASE(a_connection_doveadm_spoke_on_unasked_is_not_taken) {
  ReadyConnection ready(10s, path);
  ready.prepare(open());
  const auto doveadm = accept();
  BOOST_REQUIRE(::send(doveadm.get(), "-\n", 2, MSG_NOSIGNAL) == 2);
  BOOST_TEST((ready.take() == nullptr));
}

BOOST_AUTO_TEST_CASE(
    a_connection_to_a_socket_no_longer_at_the_path_is_not_taken) {
  ReadyConnection ready(10s, path);
  ready.prepare(open());
  const auto doveadm = accept();
  // Dovecot started anew: another socket at the same path
  const auto fresh_path = dir.path() + "/fresh";
  const auto fresh = listen_at(fresh_path);
  BOOST_REQUIRE(::rename(fresh_path.c_str(), path.c_str()) == 0);
  BOOST_TEST((ready.take() == nullptr));
}

BOOST_AUTO_TEST_CASE(a_waiting_connection_is_closed_when_its_lifetime_ends) {
  const auto start = Clock::now();
  ReadyConnection ready(200ms, path);
  ready.prepare(open());
  const auto doveadm = accept();
  BOOST_TEST(wait_until([&] { return closed_by_peer(doveadm); }));
  BOOST_TEST((Clock::now() - start >= 200ms));
  BOOST_TEST((ready.take() == nullptr));
}

BOOST_AUTO_TEST_CASE(its_end_closes_a_waiting_connection_at_once) {
  Fd doveadm;
  const auto start = Clock::now();
  {
    ReadyConnection ready(1h, path);
    ready.prepare(open());
    doveadm = accept();
  }
  BOOST_TEST((Clock::now() - start < 5s));
  BOOST_TEST(closed_by_peer(doveadm));
}

BOOST_AUTO_TEST_SUITE_END()
