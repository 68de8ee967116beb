#include "FreePort.hpp"
#include "RawConnection.hpp"
#include "ReplicationApiFixture.hpp"
#include "TestUtil.hpp"
#include "bus/Bus.hpp"
#include "http/StatusServer.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "sources/HttpEventSource.hpp"
#include "util/Fatal.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dw = dovewarden;
using dw::test::RawConnection;
using namespace std::chrono_literals;

namespace {

constexpr int k_slow = 200;
constexpr int k_idle = 200;
// far above an answer's few milliseconds, far below the 5-30 s that slow
// clients cost a listener with a thread per connection
constexpr auto k_bound = 2s;

const std::string k_event = dw::test::read_file(
    DOVEWARDEN_TOP_SRCDIR
    "/tests/fixtures/event-exporter-2.3/00-imap_command_finished-create.json");

// The three listeners of the daemon, with their default limits, on loopback.
struct Listeners : dw::test::ReplicationApiFixture {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus{metrics};
  dw::pipeline::Pipeline pipeline{bus, metrics};
  std::unique_ptr<dw::sources::HttpEventSource> events;
  std::unique_ptr<dw::http::StatusServer> status;
  std::uint16_t events_port = 0;
  std::uint16_t status_port = 0;

  Listeners() {
    bus.start();
    for (int attempt = 0; attempt < 5 && !events; attempt++) {
      dw::sources::HttpEventSource::Options options;
      options.address = {"127.0.0.1", dw::test::free_port()};
      auto candidate = std::make_unique<dw::sources::HttpEventSource>(
          options, pipeline, [](const dw::core::Event &) { return true; });
      try {
        candidate->start();
        events = std::move(candidate);
        events_port = options.address.port;
      } catch (const dw::util::Fatal &) {
      }
    }
    BOOST_REQUIRE(events);
    for (int attempt = 0; attempt < 5 && !status; attempt++) {
      status_port = dw::test::free_port();
      auto candidate = std::make_unique<dw::http::StatusServer>(
          dw::util::ListenAddress{"127.0.0.1", status_port}, metrics, [] {
            return dw::http::Readiness{true, {}};
          });
      if (candidate->start())
        status = std::move(candidate);
    }
    BOOST_REQUIRE(status);
  }
  ~Listeners() {
    events->stop();
    status->stop();
    bus.stop();
  }
};

// Opens k_slow connections that send a request head a byte at a time and
// k_idle that made one request and keep the connection, to port.
struct Hostile {
  std::vector<std::unique_ptr<RawConnection>> slow;
  std::vector<std::unique_ptr<RawConnection>> idle;

  Hostile(std::uint16_t port, const std::string &request) {
    for (int i = 0; i < k_slow; i++) {
      slow.push_back(std::make_unique<RawConnection>(port));
      slow.back()->send("P");
    }
    for (int i = 0; i < k_idle; i++) {
      idle.push_back(std::make_unique<RawConnection>(port));
      idle.back()->send(request);
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (auto &connection : idle) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      connection->receive(std::max(left, 1ms), "\r\n\r\n");
    }
  }
  // The next byte of each slow head.
  void trickle() {
    for (auto &connection : slow)
      connection->send("O");
  }
};

// Returns how long call took.
std::chrono::steady_clock::duration timed(const std::function<void()> &call) {
  const auto started = std::chrono::steady_clock::now();
  call();
  return std::chrono::steady_clock::now() - started;
}

} // namespace

BOOST_AUTO_TEST_SUITE(slow_clients)

BOOST_FIXTURE_TEST_CASE(slow_and_idle_clients_do_not_hold_up_a_normal_request,
                        Listeners) {
  const std::string post_head =
      "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(k_event.size()) + "\r\n\r\n";
  Hostile on_events(events_port, post_head + k_event);
  Hostile on_status(status_port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  Hostile on_admin(port, std::string("GET /v1/replication/status HTTP/1.1\r\n"
                                     "Host: x\r\nAuthorization: Bearer ") +
                             k_token + "\r\n\r\n");
  for (auto *hostile : {&on_events, &on_status, &on_admin})
    hostile->trickle();

  const auto client = [](std::uint16_t to) {
    httplib::Client made("127.0.0.1", to);
    made.set_connection_timeout(10, 0);
    made.set_read_timeout(10, 0);
    return made;
  };
  int event_status = 0;
  const auto event_time = timed([&] {
    const auto result =
        client(events_port).Post("/events", k_event, "application/json");
    event_status = result ? result->status : 0;
  });
  int ready_status = 0;
  const auto ready_time = timed([&] {
    const auto result = client(status_port).Get("/readyz");
    ready_status = result ? result->status : 0;
  });
  int admin_status = 0;
  const auto admin_time = timed([&] {
    const auto result = client(port).Get("/v1/replication/status", auth);
    admin_status = result ? result->status : 0;
  });
  BOOST_TEST(event_status == 202);
  BOOST_TEST(ready_status == 200);
  BOOST_TEST(admin_status == 200);
  BOOST_TEST((event_time < k_bound));
  BOOST_TEST((ready_time < k_bound));
  BOOST_TEST((admin_time < k_bound));
}

BOOST_AUTO_TEST_SUITE_END()
