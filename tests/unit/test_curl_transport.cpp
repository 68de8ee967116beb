// The transport against a real HTTP server on 127.0.0.1.
#include "HttpServer.hpp"
#include "TestUtil.hpp"
#include "webhook/CurlTransport.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using dovewarden::test::wait_until;

namespace {

// Answers POST /PATH as the test set it up; keeps what it was sent.
class Server {
public:
  Server() {
    m_http.server().Post(R"(/(\w+))", [this](const httplib::Request &request,
                                             httplib::Response &response) {
      std::function<void(httplib::Response &)> handler;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_requests[request.matches[1]] = request;
        handler = m_handlers[request.matches[1]];
      }
      response.set_content("ok", "text/plain");
      if (handler)
        handler(response);
    });
    m_http.start();
  }
  ~Server() {
    release();
    m_http.stop();
  }

  std::string url(const std::string &path) const {
    return m_http.url("/" + path);
  }
  void on(const std::string &path,
          std::function<void(httplib::Response &)> handler) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_handlers[path] = std::move(handler);
  }
  // Returns the request to path, nothing if none came.
  std::optional<httplib::Request> request(const std::string &path) {
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto found = m_requests.find(path);
    if (found == m_requests.end())
      return std::nullopt;
    return found->second;
  }
  // Holds a handler until release(), for at most limit.
  void hang(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_released_changed.wait_for(lock, limit, [this] { return m_released; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_released = true;
    }
    m_released_changed.notify_all();
  }

private:
  dovewarden::test::HttpServer m_http;
  std::mutex m_mutex;
  std::map<std::string, std::function<void(httplib::Response &)>> m_handlers;
  std::map<std::string, httplib::Request> m_requests;
  bool m_released = false;
  std::condition_variable m_released_changed;
};

struct Fixture {
  Server server;
  std::map<CurlTransport::Id, TransferResult> ended;

  std::unique_ptr<CurlTransport> transport(const char *allow = "127.0.0.0/8",
                                           std::size_t cap = 1024,
                                           std::size_t limit = 1 << 20) {
    CurlTransport::Options options;
    options.address_policy = *AddressPolicy::parse(allow);
    options.response_cap = cap;
    options.response_limit = limit;
    return std::make_unique<CurlTransport>(
        options, [this](CurlTransport::Id id, TransferResult result) {
          ended.emplace(id, std::move(result));
        });
  }

  Post post(const std::string &path, std::chrono::milliseconds timeout = 5s) {
    return Post{server.url(path),
                {"webhook-id: msg_1", "Content-Type: application/json"},
                R"({"type":"webhook.test"})",
                timeout};
  }

  // Drives transport until the transfer id ended. Returns how it did.
  TransferResult run(CurlTransport &transport, CurlTransport::Id id) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!ended.count(id) && std::chrono::steady_clock::now() < deadline) {
      transport.perform();
      transport.poll(100ms);
    }
    BOOST_REQUIRE(ended.count(id));
    return ended.at(id);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(curl_transport, Fixture)

BOOST_AUTO_TEST_CASE(posts_the_body_and_headers_and_reports_the_answer) {
  server.on("hook", [](httplib::Response &response) {
    response.status = 503;
    response.set_header("Retry-After", "7");
    response.set_content("busy", "text/plain");
  });
  auto sender = transport();
  const auto id = sender->send(post("hook"));
  BOOST_TEST(sender->in_flight() == 1u);
  const auto result = run(*sender, id);
  BOOST_TEST(sender->in_flight() == 0u);
  BOOST_TEST(result.status == 503);
  BOOST_TEST(result.response == "busy");
  BOOST_TEST(result.retry_after == "7");
  BOOST_TEST(result.error == "");
  BOOST_TEST(result.refusal == "");
  const auto request = server.request("hook");
  BOOST_REQUIRE(request.has_value());
  BOOST_TEST(request->body == R"({"type":"webhook.test"})");
  BOOST_TEST(request->get_header_value("webhook-id") == "msg_1");
  BOOST_TEST(request->get_header_value("Content-Type") == "application/json");
  BOOST_TEST(request->get_header_value("User-Agent").rfind("dovewarden/", 0) ==
             0u);
}

BOOST_AUTO_TEST_CASE(keeps_the_first_bytes_and_cuts_off_a_long_response) {
  server.on("chatty", [](httplib::Response &response) {
    response.set_content(std::string(256 * 1024, 'x'), "text/plain");
  });
  auto sender = transport("127.0.0.0/8", 16, 1024);
  const auto result = run(*sender, sender->send(post("chatty")));
  BOOST_TEST(result.status == 200);
  BOOST_TEST(result.response == std::string(16, 'x'));
  BOOST_TEST(result.error == "response cut off after 1024 bytes");
}

BOOST_AUTO_TEST_CASE(follows_no_redirect) {
  server.on("moved", [this](httplib::Response &response) {
    response.status = 302;
    response.set_header("Location", server.url("elsewhere"));
  });
  auto sender = transport();
  const auto result = run(*sender, sender->send(post("moved")));
  BOOST_TEST(result.status == 302);
  BOOST_TEST(!server.request("elsewhere").has_value());
}

BOOST_AUTO_TEST_CASE(refuses_to_dial_an_address_the_policy_forbids) {
  auto sender = transport("");
  const auto result = run(*sender, sender->send(post("private")));
  BOOST_TEST(result.status == 0);
  BOOST_TEST(result.refusal == "127.0.0.1 is a loopback address");
  BOOST_TEST(!result.error.empty());
  BOOST_TEST(!server.request("private").has_value());
}

BOOST_AUTO_TEST_CASE(a_transfer_past_its_timeout_ends_timed_out) {
  server.on("slow", [this](httplib::Response &) { server.hang(10s); });
  auto sender = transport();
  const auto result = run(*sender, sender->send(post("slow", 200ms)));
  BOOST_TEST(result.status == 0);
  BOOST_TEST(result.timed_out);
  BOOST_TEST(!result.error.empty());
  BOOST_TEST(result.latency.count() < 5000);
  server.release();
}

BOOST_AUTO_TEST_CASE(abort_drops_the_transfers_unreported) {
  server.on("stuck", [this](httplib::Response &) { server.hang(10s); });
  server.on("other", [this](httplib::Response &) { server.hang(10s); });
  auto sender = transport();
  sender->send(post("stuck"));
  sender->send(post("other"));
  // both requests reach the server before the abort
  BOOST_REQUIRE(wait_until([&] {
    sender->perform();
    sender->poll(10ms);
    return server.request("stuck") && server.request("other");
  }));
  BOOST_REQUIRE(sender->in_flight() == 2u);
  sender->abort();
  BOOST_TEST(sender->in_flight() == 0u);
  server.release();
  // a transfer sent afterwards is the only one reported
  const auto after = sender->send(post("after"));
  BOOST_TEST(run(*sender, after).status == 200);
  BOOST_TEST(ended.size() == 1u);
}

BOOST_AUTO_TEST_CASE(wake_from_another_thread_cuts_a_poll_short) {
  auto sender = transport();
  // before or during the poll: a wake-up is kept until a poll takes it
  std::thread waker([&] { sender->wake(); });
  const auto started = std::chrono::steady_clock::now();
  sender->poll(10s);
  BOOST_TEST((std::chrono::steady_clock::now() - started < 5s));
  waker.join();
}

BOOST_AUTO_TEST_SUITE_END()
