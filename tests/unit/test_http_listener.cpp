#include "FreePort.hpp"
#include "RawConnection.hpp"
#include "Wait.hpp"
#include "util/HttpListener.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dw = dovewarden;
using dw::test::RawConnection;
using dw::util::HttpLimits;
using dw::util::HttpListener;
using dw::util::HttpRequest;
using dw::util::HttpResponse;
using namespace std::chrono_literals;

namespace {

constexpr auto k_patience = std::chrono::milliseconds(5000);
const std::string k_get = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";

// A listener with an /echo route (its body, or "hello") and a /slow one
// that waits until released, on a free loopback port.
struct Served {
  explicit Served(HttpLimits limits = {}) {
    for (int attempt = 0; attempt < 5 && !listener; attempt++) {
      port = dw::test::free_port();
      auto candidate = std::make_unique<HttpListener>(
          "test", dw::util::ListenAddress{"127.0.0.1", port}, limits);
      add_routes(candidate->router());
      candidate->on_drop([this](std::string_view reason) {
        std::lock_guard lock(mutex);
        drops.emplace_back(reason);
      });
      if (candidate->start())
        listener = std::move(candidate);
    }
    BOOST_REQUIRE(listener);
  }
  ~Served() {
    release();
    listener->stop();
  }

  void add_routes(dw::util::HttpRouter &router) {
    router.add("GET", "/echo", [](const HttpRequest &, HttpResponse &response) {
      response.set_content("hello", "text/plain");
    });
    router.add("POST", "/echo",
               [this](const HttpRequest &request, HttpResponse &response) {
                 std::lock_guard lock(mutex);
                 trailer_seen = request.header("X-Trailer");
                 response.set_content(request.body, "text/plain");
               });
    router.add("GET", "/slow", [this](const HttpRequest &, HttpResponse &) {
      std::unique_lock lock(mutex);
      slow_running++;
      released_cv.wait(lock, [this] { return released; });
    });
  }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    released_cv.notify_all();
  }
  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client;
  }

  std::uint16_t port = 0;
  std::unique_ptr<HttpListener> listener;
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;
  int slow_running = 0;
  std::string trailer_seen;
  std::vector<std::string> drops; // reasons the listener gave
};

bool answered(RawConnection &connection, const char *status) {
  return connection.receive(k_patience, "\r\n\r\n").rfind(status, 0) == 0;
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_listener)

// an inactivity timeout never fires on a client that sends a byte every
// 100 ms; a deadline for the whole head does
BOOST_AUTO_TEST_CASE(a_head_sent_a_byte_at_a_time_is_closed_at_its_deadline) {
  HttpLimits limits;
  limits.head_timeout = 500ms;
  Served served(limits);
  RawConnection slow(served.port);
  const std::string head =
      "GET /echo HTTP/1.1\r\nX-Padding: " + std::string(200, 'a') + "\r\n\r\n";
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  for (const char byte : head) {
    if (!slow.send(std::string(1, byte)) || slow.closed_within(100ms)) {
      closed = true;
      break;
    }
  }
  BOOST_TEST(closed);
  BOOST_TEST(slow.receive(0ms).empty()); // no answer to half a head
  // Beast closes the socket at the deadline just before the listener
  // notes why
  BOOST_TEST(dw::test::wait_until(
      [&] {
        std::lock_guard lock(served.mutex);
        return !served.drops.empty();
      },
      k_patience));
  std::lock_guard lock(served.mutex);
  BOOST_TEST(served.drops == std::vector<std::string>{"head_timeout"},
             boost::test_tools::per_element());
  BOOST_TEST((std::chrono::steady_clock::now() - started < k_patience));
}

BOOST_AUTO_TEST_CASE(
    a_connection_that_sends_nothing_is_closed_at_the_deadline) {
  HttpLimits limits;
  limits.head_timeout = 300ms;
  Served served(limits);
  RawConnection silent(served.port);
  BOOST_TEST(silent.closed_within(k_patience));
  // Beast's stream closes the socket when its deadline fires, just before
  // the listener hears of it and stops counting the connection
  BOOST_TEST(dw::test::wait_until(
      [&] { return served.listener->connections() == 0u; }, k_patience));
}

BOOST_AUTO_TEST_CASE(a_body_sent_slowly_is_closed_at_its_deadline) {
  HttpLimits limits;
  limits.body_timeout = 300ms;
  Served served(limits);
  RawConnection slow(served.port);
  BOOST_REQUIRE(slow.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"));
  bool closed = false;
  for (int i = 0; i < 98 && !closed; i++)
    closed = !slow.send("x") || slow.closed_within(100ms);
  BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(
    an_idle_keep_alive_connection_is_closed_after_the_timeout) {
  HttpLimits limits;
  limits.idle_timeout = 300ms;
  Served served(limits);
  RawConnection idle(served.port);
  BOOST_REQUIRE(idle.send(k_get));
  BOOST_TEST(answered(idle, "HTTP/1.1 200"));
  BOOST_TEST(idle.closed_within(k_patience));
}

BOOST_AUTO_TEST_CASE(a_keep_alive_connection_serves_at_most_max_requests) {
  HttpLimits limits;
  limits.max_requests = 3;
  Served served(limits);
  RawConnection connection(served.port);
  for (int i = 1; i <= 3; i++) {
    BOOST_TEST_CONTEXT("request " << i) {
      connection.clear();
      BOOST_REQUIRE(connection.send(k_get));
      const auto answer = connection.receive(k_patience, "hello");
      BOOST_TEST(answer.rfind("HTTP/1.1 200", 0) == 0);
      BOOST_TEST((answer.find("Connection: close") != std::string::npos) ==
                 (i == 3));
    }
  }
  BOOST_TEST(connection.closed_within(k_patience));
}

BOOST_AUTO_TEST_CASE(when_full_the_longest_idle_connection_makes_room) {
  HttpLimits limits;
  limits.max_connections = 2;
  Served served(limits);
  RawConnection first(served.port);
  RawConnection second(served.port);
  for (auto *connection : {&first, &second}) {
    BOOST_REQUIRE(connection->send(k_get));
    BOOST_REQUIRE(answered(*connection, "HTTP/1.1 200"));
  }
  RawConnection third(served.port);
  BOOST_REQUIRE(third.send(k_get));
  BOOST_TEST(answered(third, "HTTP/1.1 200"));
  BOOST_TEST(first.closed_within(k_patience));
  BOOST_TEST(!second.closed_within(0ms));
  std::lock_guard lock(served.mutex);
  BOOST_TEST(served.drops == std::vector<std::string>{"evicted_idle"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(when_full_without_idle_connections_a_new_one_gets_503) {
  HttpLimits limits;
  limits.max_connections = 2;
  Served served(limits);
  RawConnection first(served.port);
  RawConnection second(served.port);
  // half a head each: busy, not idle
  BOOST_REQUIRE(first.send("GET /echo HTTP/1.1\r\n"));
  BOOST_REQUIRE(second.send("GET /echo HTTP/1.1\r\n"));
  BOOST_REQUIRE(dw::test::wait_until(
      [&] { return served.listener->connections() == 2; }));
  RawConnection third(served.port);
  BOOST_TEST(answered(third, "HTTP/1.1 503"));
  BOOST_TEST(third.closed_within(k_patience));
  {
    std::lock_guard lock(served.mutex);
    BOOST_TEST(served.drops == std::vector<std::string>{"too_many_connections"},
               boost::test_tools::per_element());
  }
  // the two still get their answers
  BOOST_REQUIRE(first.send("Host: x\r\n\r\n"));
  BOOST_TEST(answered(first, "HTTP/1.1 200"));
}

BOOST_AUTO_TEST_CASE(a_head_over_the_limit_is_431) {
  HttpLimits limits;
  limits.max_header = 1024;
  Served served(limits);
  RawConnection connection(served.port);
  BOOST_REQUIRE(connection.send(
      "GET /echo HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n"));
  BOOST_TEST(answered(connection, "HTTP/1.1 431"));
  BOOST_TEST(connection.closed_within(k_patience));
}

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_413_whether_announced_or_not) {
  HttpLimits limits;
  limits.max_body = 100;
  Served served(limits);
  auto client = served.client();
  const auto announced =
      client.Post("/echo", std::string(101, 'x'), "text/plain");
  BOOST_REQUIRE(announced);
  BOOST_TEST(announced->status == 413);
  BOOST_TEST(announced->body == "request body larger than 100 bytes\n");
  RawConnection chunked(served.port);
  BOOST_REQUIRE(chunked.send("POST /echo HTTP/1.1\r\nHost: x\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "40\r\n" +
                             std::string(64, 'x') + "\r\n40\r\n" +
                             std::string(64, 'x') + "\r\n0\r\n\r\n"));
  BOOST_TEST(answered(chunked, "HTTP/1.1 413"));
  const auto exactly =
      client.Post("/echo", std::string(100, 'x'), "text/plain");
  BOOST_REQUIRE(exactly);
  BOOST_TEST(exactly->status == 200);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_with_a_trailer_is_read_whole) {
  Served served;
  RawConnection connection(served.port);
  BOOST_REQUIRE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "Trailer: X-Trailer\r\n\r\n"
                                "5\r\nhello\r\n6\r\n world\r\n0\r\n"
                                "X-Trailer: yes\r\n\r\n"));
  const auto answer = connection.receive(k_patience, "hello world");
  BOOST_TEST(answer.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_TEST(answer.find("hello world") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_gets_its_interim_answer) {
  Served served;
  RawConnection connection(served.port);
  BOOST_REQUIRE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\n"
                                "Content-Length: 3\r\n"
                                "Expect: 100-continue\r\n\r\n"));
  BOOST_TEST(answered(connection, "HTTP/1.1 100 Continue"));
  BOOST_REQUIRE(connection.send("abc"));
  BOOST_TEST(connection.receive(k_patience, "abc").find("200 OK") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(head_answers_a_get_route_without_the_body) {
  Served served;
  auto client = served.client();
  const auto result = client.Head("/echo");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(result->get_header_value("Content-Length") == "5");
  BOOST_TEST(result->body.empty());
}

BOOST_AUTO_TEST_CASE(a_slow_handler_does_not_hold_up_other_requests) {
  HttpLimits limits;
  limits.threads = 2;
  Served served(limits);
  std::thread slow([&] { served.client().Get("/slow"); });
  BOOST_REQUIRE(dw::test::wait_until([&] {
    std::lock_guard lock(served.mutex);
    return served.slow_running == 1;
  }));
  const auto result = served.client().Get("/echo");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->body == "hello");
  served.release();
  slow.join();
}

BOOST_AUTO_TEST_CASE(a_second_listener_on_the_same_port_fails_to_bind) {
  Served served;
  HttpListener second("second", {"127.0.0.1", served.port}, {});
  const auto started = second.start();
  BOOST_REQUIRE(!started);
  BOOST_TEST(started.error().find("cannot listen on 127.0.0.1:") == 0u);
}

BOOST_AUTO_TEST_CASE(a_port_alone_listens_on_ipv4_and_ipv6) {
  std::unique_ptr<HttpListener> listener;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 5 && !listener; attempt++) {
    port = dw::test::free_port();
    listener = std::make_unique<HttpListener>(
        "test", dw::util::ListenAddress{"", port}, HttpLimits{});
    listener->router().add("GET", "/",
                           [](const HttpRequest &, HttpResponse &response) {
                             response.set_content("here", "text/plain");
                           });
    if (!listener->start())
      listener.reset();
  }
  BOOST_REQUIRE(listener);
  for (const char *host : {"127.0.0.1", "::1"}) {
    BOOST_TEST_CONTEXT(host) {
      httplib::Client client(host, port);
      client.set_connection_timeout(5, 0);
      const auto result = client.Get("/");
      BOOST_REQUIRE(result);
      BOOST_TEST(result->body == "here");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
