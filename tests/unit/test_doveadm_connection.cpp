// One connection to doveadm's server socket, against a socket the test holds
// the other end of.
#include "FreePort.hpp"
#include "Wait.hpp"
#include "replication/DoveadmConnection.hpp"
#include "util/Fd.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <string_view>
#include <thread>

using dovewarden::replication::DoveadmConnection;
using dovewarden::replication::DoveadmFailure;
using dovewarden::test::blocked;
using dovewarden::test::thread_id;
using dovewarden::test::wait_until;
using dovewarden::util::Fd;
using Clock = DoveadmConnection::Clock;
using Kind = DoveadmFailure::Kind;
using namespace std::chrono_literals;

namespace {

constexpr const char *k_where = "doveadm at tcp:127.0.0.1";

// A connection to a listener on 127.0.0.1, and the listener's end of it.
struct Connected {
  std::atomic<bool> cancelled{false};
  DoveadmConnection connection{cancelled, k_where};
  Fd peer;

  Connected() {
    auto [listener, port] = dovewarden::test::loopback_listener();
    connection.set_deadline(Clock::now() + 10s);
    const auto opened = connection.open_tcp("127.0.0.1", std::to_string(port),
                                            Clock::now() + 5s);
    BOOST_REQUIRE_MESSAGE(opened.has_value(),
                          (opened ? "" : opened.error().message));
    peer.reset(::accept(listener.get(), nullptr, nullptr));
    BOOST_REQUIRE(peer);
  }

  void say(std::string_view text) {
    BOOST_REQUIRE(::send(peer.get(), text.data(), text.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(text.size()));
  }
  // Returns size bytes the connection sent, or what came within 10 s.
  std::string hear(std::size_t size) {
    const timeval timeout{10, 0};
    ::setsockopt(peer.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof(timeout));
    std::string heard;
    char buffer[65536];
    while (heard.size() < size) {
      const ssize_t got = ::recv(peer.get(), buffer, sizeof(buffer), 0);
      if (got <= 0)
        break;
      heard.append(buffer, static_cast<std::size_t>(got));
    }
    return heard;
  }
};

bool is_temporary(const DoveadmFailure &failure) {
  return failure.kind == Kind::temporary;
}

} // namespace

BOOST_AUTO_TEST_SUITE(doveadm_connection)

BOOST_AUTO_TEST_CASE(lines_come_one_at_a_time_however_the_bytes_arrive) {
  Connected c;
  c.say("VERSION\tdoveadm-server\t1\t0\n+\nAQAA");
  BOOST_TEST(c.connection.line().value() == "VERSION\tdoveadm-server\t1\t0");
  BOOST_TEST(c.connection.line().value() == "+");
  c.say("Hm4=\t\n\n");
  BOOST_TEST(c.connection.line().value() == "AQAAHm4=\t");
  BOOST_TEST(c.connection.line().value() == "");
}

BOOST_AUTO_TEST_CASE(send_hands_over_every_byte) {
  Connected c;
  // more than the socket buffers hold: send waits for room in between
  const std::string request(8 << 20, 'x');
  auto heard =
      std::async(std::launch::async, [&] { return c.hear(request.size()); });
  BOOST_TEST(c.connection.send(request).has_value());
  BOOST_TEST((heard.get() == request));
}

BOOST_AUTO_TEST_CASE(doveadm_closing_without_an_answer_is_a_temporary_failure) {
  Connected c;
  c.say("+\n");
  c.peer.reset();
  BOOST_TEST(c.connection.line().value() == "+");
  const auto line = c.connection.line();
  BOOST_REQUIRE(!line);
  BOOST_TEST(is_temporary(line.error()));
  BOOST_TEST(line.error().message.rfind(k_where, 0) == 0);
  BOOST_TEST(line.error().message.find("closed the connection") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_wait_ends_at_the_deadline) {
  Connected c;
  const auto start = Clock::now();
  c.connection.set_deadline(start + 300ms);
  const auto line = c.connection.line();
  const auto waited = Clock::now() - start;
  BOOST_REQUIRE(!line);
  BOOST_TEST(is_temporary(line.error()));
  BOOST_TEST(line.error().message.find("timed out") != std::string::npos);
  BOOST_TEST((waited >= 300ms));
  BOOST_TEST((waited < 5s));
}

BOOST_AUTO_TEST_CASE(cancelling_ends_a_wait_long_before_the_deadline) {
  Connected c;
  c.connection.set_deadline(Clock::now() + 1h);
  std::atomic<pid_t> reader{0};
  auto line = std::async(std::launch::async, [&] {
    reader = thread_id();
    return c.connection.line();
  });
  BOOST_TEST(wait_until([&] { return blocked(reader); }));
  c.cancelled = true;
  const bool ended = line.wait_for(5s) == std::future_status::ready;
  c.peer.reset(); // ends the wait if cancelling did not
  BOOST_TEST(ended);
  const auto cancelled = line.get();
  BOOST_REQUIRE(!cancelled);
  BOOST_TEST(is_temporary(cancelled.error()));
  BOOST_TEST(cancelled.error().message.find("cancelled") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_unreachable_naming_where) {
  std::atomic<bool> cancelled{false};
  DoveadmConnection tcp(cancelled, k_where);
  tcp.set_deadline(Clock::now() + 10s);
  const auto port = std::to_string(dovewarden::test::free_port());
  const auto refused = tcp.open_tcp("127.0.0.1", port, Clock::now() + 5s);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(static_cast<int>(refused.error().kind) ==
             static_cast<int>(Kind::unreachable));
  BOOST_TEST(refused.error().message.rfind(k_where, 0) == 0);
  BOOST_TEST(refused.error().message.find("cannot connect") !=
             std::string::npos);

  DoveadmConnection unix_socket(cancelled, "doveadm at unix:/nonexistent");
  unix_socket.set_deadline(Clock::now() + 10s);
  const auto missing = unix_socket.open_unix("/nonexistent/doveadm-server");
  BOOST_REQUIRE(!missing);
  BOOST_TEST(static_cast<int>(missing.error().kind) ==
             static_cast<int>(Kind::unreachable));
  BOOST_TEST(missing.error().message.rfind("doveadm at unix:/nonexistent", 0) ==
             0);
  BOOST_TEST(missing.error().message.find("cannot connect") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_unix_path_longer_than_a_socket_takes_is_refused) {
  std::atomic<bool> cancelled{false};
  DoveadmConnection connection(cancelled, "doveadm");
  const auto opened = connection.open_unix("/run/" + std::string(200, 'd'));
  BOOST_REQUIRE(!opened);
  BOOST_TEST(opened.error().message.find("the path is too long") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(quiet_until_doveadm_sends_unasked_or_closes) {
  Connected c;
  BOOST_TEST(c.connection.quiet());
  c.say("a\nb");
  BOOST_TEST(wait_until([&] { return !c.connection.quiet(); }));
  BOOST_TEST(c.connection.line().value() == "a");
  // "b" is read and waits for the rest of its line
  BOOST_TEST(!c.connection.quiet());
  c.say("\n");
  BOOST_TEST(c.connection.line().value() == "b");
  BOOST_TEST(c.connection.quiet());
  ::shutdown(c.peer.get(), SHUT_WR);
  BOOST_TEST(wait_until([&] { return !c.connection.quiet(); }));
}

BOOST_AUTO_TEST_SUITE_END()
