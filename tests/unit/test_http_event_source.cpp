#include "EventCollector.hpp"
#include "MetricValue.hpp"
#include "RawConnection.hpp"
#include "TestUtil.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "replication/ReplicationFeed.hpp"
#include "replication/Trigger.hpp"
#include "sources/HttpEventSource.hpp"
#include "util/Fatal.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

namespace dw = dovewarden;
using dw::sources::HttpEventSource;

using dovewarden::test::free_port;
using dovewarden::test::ok;
using dovewarden::test::read_file;

namespace {

const std::string k_create = DOVEWARDEN_TOP_SRCDIR
    "/tests/fixtures/event-exporter-2.3/00-imap_command_finished-create.json";
const std::string k_delivery = DOVEWARDEN_TOP_SRCDIR
    "/tests/fixtures/event-exporter-2.3/10-mail_delivery_finished.json";
const std::string k_captures_2_4 =
    DOVEWARDEN_TOP_SRCDIR "/tests/fixtures/event-exporter-2.4/";

// Returns the real 2.4.1 captures, "rfc3339/00-….json", in order.
std::vector<std::string> captures_2_4() {
  std::vector<std::string> names;
  for (const char *folder : {"rfc3339", "mail-events-unix"}) {
    for (const auto &entry :
         std::filesystem::directory_iterator(k_captures_2_4 + folder)) {
      if (entry.path().extension() == ".json")
        names.push_back(std::string(folder) + "/" +
                        entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A source on a free loopback port, with a bus that hands subscribed_types
// to a collector, and an admit that answers what admit_answer says.
struct Served {
  explicit Served(
      const std::string &subscribed_types = "*", std::size_t max_body = 1024,
      const std::function<void(HttpEventSource::Options &)> &configure = {}) {
    bus.subscribe(subscribed_types, collector);
    bus.start();
    HttpEventSource::Options options;
    options.max_body = max_body;
    if (configure)
      configure(options);
    // another process may take the port between free_port() and start()
    for (int attempt = 0; !source; attempt++) {
      options.address = {"127.0.0.1", free_port()};
      auto candidate = std::make_unique<HttpEventSource>(
          options, pipeline, [this](const dw::core::Event &event) {
            std::lock_guard lock(mutex);
            admitted.emplace_back(event.message.str("user"));
            if (throw_in_admit)
              throw std::runtime_error("secret");
            if (decide)
              return tl::expected<bool, std::string>(decide(event));
            return admit_answer;
          });
      try {
        candidate->start();
        source = std::move(candidate);
        port = options.address.port;
      } catch (const dw::util::Fatal &) {
        if (attempt == 4)
          throw;
      }
    }
  }
  ~Served() {
    source->stop();
    bus.stop();
  }

  httplib::Result post(const std::string &body) {
    httplib::Client client("127.0.0.1", port);
    return client.Post("/events", body, "application/json");
  }
  double metric(const std::string &line) const {
    return dw::test::metric_value(metrics, line).value_or(0);
  }
  double rejected(const std::string &reason) const {
    return metric(R"(dovewarden_events_rejected_total{reason=")" + reason +
                  R"(",source="http"})");
  }

  dw::metrics::Metrics metrics;
  dw::bus::Bus bus{metrics};
  dw::pipeline::Pipeline pipeline{bus, metrics};
  std::shared_ptr<dw::test::EventCollector> collector =
      std::make_shared<dw::test::EventCollector>();
  std::mutex mutex;
  std::vector<std::string> admitted;
  tl::expected<bool, std::string> admit_answer = true;
  std::function<bool(const dw::core::Event &)> decide; // else admit_answer
  bool throw_in_admit = false;
  std::unique_ptr<HttpEventSource> source;
  std::uint16_t port = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(http_event_source)

BOOST_AUTO_TEST_CASE(the_default_limit_is_10_mib_on_loopback_8080) {
  const HttpEventSource::Options options;
  BOOST_TEST(options.max_body == 10u * 1024 * 1024);
  BOOST_TEST(options.address.to_string() == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(an_admitted_event_is_202_and_reaches_the_bus) {
  Served served;
  BOOST_TEST(served.source->ready());
  BOOST_TEST(served.source->describe() ==
             "http POST 127.0.0.1:" + std::to_string(served.port) + "/events");
  const auto result = served.post(read_file(k_create));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 202);
  served.bus.stop(); // drains the collector's queue
  BOOST_TEST(served.admitted == std::vector<std::string>{"alice"},
             boost::test_tools::per_element());
  const auto events = served.collector->events();
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].source == "http");
  BOOST_TEST(events[0].type() == "imap_command_finished");
  BOOST_TEST(events[0].message.str("cmd_name") == "CREATE");
  BOOST_TEST(
      served.metric(
          R"(dovewarden_events_received_total{source="http",type="imap_command_finished"})") ==
      1);
}

BOOST_AUTO_TEST_CASE(an_event_only_the_store_wants_is_202) {
  Served served("message.*");
  const auto result = served.post(read_file(k_delivery));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 202);
}

BOOST_AUTO_TEST_CASE(an_event_only_a_subscriber_wants_is_202) {
  Served served;
  served.admit_answer = false;
  const auto result = served.post(read_file(k_delivery));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 202);
}

BOOST_AUTO_TEST_CASE(an_event_nobody_wants_is_204) {
  Served served("message.*");
  served.admit_answer = false;
  const auto result = served.post(read_file(k_create));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 204);
  BOOST_TEST(result->body.empty());
  BOOST_TEST(served.admitted.size() == 1u);
  BOOST_TEST(served.metric("dovewarden_events_filtered_total") == 1);
}

BOOST_AUTO_TEST_CASE(every_2_4_capture_is_202_and_reaches_the_bus) {
  Served served;
  const auto names = captures_2_4();
  BOOST_REQUIRE_EQUAL(names.size(), 18u);
  for (const auto &name : names) {
    BOOST_TEST_CONTEXT(name) {
      const auto result = served.post(read_file(k_captures_2_4 + name));
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == 202);
    }
  }
  served.bus.stop();
  const auto events = served.collector->events();
  BOOST_REQUIRE_EQUAL(events.size(), names.size());
  for (std::size_t i = 0; i < names.size(); i++) {
    BOOST_TEST_CONTEXT(names[i]) {
      const auto &event = events[i];
      // the file is named for the event
      BOOST_TEST(names[i].find("-" + event.type()) != std::string::npos);
      BOOST_TEST(event.source == "http");
      BOOST_TEST(event.message.str("user") == "alice");
      BOOST_TEST(event.message.str("ip") == "127.0.0.1");
      BOOST_TEST(!event.message.str("session").empty());
      BOOST_TEST(event.message.integer("ts") > 1796511577000000);
    }
  }
}

// What the Go dovewarden 0.1.1 (its internal/events/filter.go) answers each
// 2.4.1 capture: 202 for a delivery and for the commands it replicates on,
// 204 for any other event. dovewardend with replication on and nothing
// else subscribed: the feed's trigger decides and its filter subscribes.
BOOST_AUTO_TEST_CASE(captures_2_4_get_the_go_dovewardens_answers) {
  Served served("no.such.type");
  const auto trigger = dw::replication::Trigger::defaults();
  served.decide = [&trigger](const dw::core::Event &event) {
    return trigger.priority(event).has_value();
  };
  served.bus.subscribe(dw::replication::ReplicationFeed::filter(),
                       std::make_shared<dw::test::EventCollector>(), {});
  const std::map<std::string, int> go_answers = {
      {"rfc3339/00-imap_command_finished-create.json", 202},
      {"rfc3339/01-imap_command_finished-select.json", 204},
      {"rfc3339/02-imap_command_finished-append.json", 202},
      {"rfc3339/03-imap_command_finished-store.json", 202},
      {"rfc3339/04-imap_command_finished-copy.json", 202},
      {"rfc3339/05-imap_command_finished-rename.json", 202},
      {"rfc3339/06-imap_command_finished-store.json", 202},
      {"rfc3339/07-imap_command_finished-expunge.json", 202},
      {"rfc3339/08-imap_command_finished-unknown.json", 204},
      {"rfc3339/09-imap_command_finished-logout.json", 204},
      {"rfc3339/10-mail_delivery_finished.json", 202},
      {"mail-events-unix/00-imap_command_finished-append.json", 202},
      {"mail-events-unix/01-mail_expunge_requested-expunge.json", 204},
      {"mail-events-unix/02-mail_expunged.json", 204},
      {"mail-events-unix/03-mail_user_session_finished.json", 204},
      {"mail-events-unix/04-mail_delivery_started.json", 204},
      {"mail-events-unix/05-mail_delivery_finished.json", 202},
      {"mail-events-unix/06-mail_user_session_finished.json", 204},
  };
  const auto names = captures_2_4();
  BOOST_REQUIRE_EQUAL(names.size(), go_answers.size());
  for (const auto &name : names) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(go_answers.count(name) == 1u);
      const auto result = served.post(read_file(k_captures_2_4 + name));
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == go_answers.at(name));
    }
  }
}

// as the Go dovewarden's "POST /events" (Go's http.ServeMux pattern)
BOOST_AUTO_TEST_CASE(the_path_is_events_with_any_query_and_no_trailing_slash) {
  Served served;
  httplib::Client client("127.0.0.1", served.port);
  const auto result = client.Post("/events?from=dovecot", read_file(k_create),
                                  "application/json");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 202);
  const auto slash =
      client.Post("/events/", read_file(k_create), "application/json");
  BOOST_REQUIRE(slash);
  BOOST_TEST(slash->status == 404);
}

BOOST_AUTO_TEST_CASE(malformed_bodies_are_400_with_a_reason_and_counted) {
  Served served;
  const auto capture = read_file(k_create);
  const struct {
    std::string body;
    const char *reason;
    const char *says;
  } cases[] = {
      {"garbage", "not_json", "not JSON"},
      {capture.substr(0, capture.size() - 10), "truncated", "truncated JSON"},
      {R"({"event":"imap_command_finished","fields":{"session":"s"}})",
       "no_user", "has no fields.user"},
      {"[" + capture + "]", "not_an_object", "not one event object"},
      {R"({"event":"e","fields":{"user":"u","duration":1e400}})", "bad_number",
       "outside the range of a double"},
      {R"({"event":"e","fields":{"user":"u","user":"v"}})", "duplicate_key",
       "appears twice"},
      {R"({"event":"e","start_time":"2026-02-30T00:00:00Z",)"
       R"("end_time":"2026-11-22T19:36:10.448947Z","fields":{"user":"u"}})",
       "bad_time", "start_time"},
  };
  for (const auto &c : cases) {
    BOOST_TEST_CONTEXT(c.reason) {
      const auto result = served.post(c.body);
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == 400);
      BOOST_TEST(result->body.find(c.says) != std::string::npos);
      // one line
      BOOST_TEST(result->body.find('\n') == result->body.size() - 1);
      BOOST_TEST(served.rejected(c.reason) == 1);
    }
  }
  BOOST_TEST(served.admitted.empty());
  served.bus.stop();
  BOOST_TEST(served.collector->events().empty());
}

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_413_and_serving_goes_on) {
  Served served("*", 1024);
  const auto capture = read_file(k_create);
  auto big = capture;
  big.insert(big.size() - 2, ",\"pad\":\"" + std::string(2000, 'x') + "\"");
  const auto result = served.post(big);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 413);
  BOOST_TEST(result->body.find("larger than 1024 bytes") != std::string::npos);
  BOOST_TEST(served.rejected("too_large") == 1);

  // chunked: no Content-Length for cpp-httplib to check up front; under
  // twice the limit, so that the source reads it all before answering
  big = capture;
  big.insert(big.size() - 2, ",\"pad\":\"" + std::string(1000, 'x') + "\"");
  BOOST_REQUIRE(big.size() > 1024u && big.size() < 2048u);
  httplib::Client client("127.0.0.1", served.port);
  const auto chunked = client.Post(
      "/events",
      [&big](std::size_t offset, httplib::DataSink &sink) {
        if (offset < big.size())
          sink.write(big.data() + offset,
                     std::min<std::size_t>(100, big.size() - offset));
        else
          sink.done();
        return true;
      },
      "application/json");
  BOOST_REQUIRE(chunked);
  BOOST_TEST(chunked->status == 413);
  BOOST_TEST(served.rejected("too_large") == 2);

  BOOST_TEST(served.admitted.empty());
  auto exactly = capture;
  exactly.insert(exactly.size() - 2,
                 ",\"pad\":\"" + std::string(1024 - capture.size() - 9, 'x') +
                     "\"");
  BOOST_REQUIRE_EQUAL(exactly.size(), 1024u);
  const auto at_limit = served.post(exactly);
  BOOST_REQUIRE(at_limit);
  BOOST_TEST(at_limit->status == 202);
  BOOST_TEST(served.admitted.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_with_a_trailer_is_accepted) {
  Served served;
  const auto capture = read_file(k_create);
  std::ostringstream request;
  request << "POST /events HTTP/1.1\r\nHost: x\r\n"
          << "Content-Type: application/json\r\n"
          << "Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
          << std::hex << capture.size() << "\r\n"
          << capture << "\r\n0\r\nX-Checksum: 1\r\n\r\n";
  dw::test::RawConnection connection(served.port);
  BOOST_REQUIRE(connection.send(request.str()));
  const auto answer =
      connection.receive(std::chrono::seconds(10), "accepted\n");
  BOOST_TEST(answer.rfind("HTTP/1.1 202", 0) == 0);
  BOOST_TEST(served.admitted.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_token_is_needed_once_set_in_any_scheme_case) {
  Served served("*", 1024, [](HttpEventSource::Options &options) {
    options.token.emplace("events-token");
  });
  httplib::Client client("127.0.0.1", served.port);
  const auto capture = read_file(k_create);
  for (const auto &headers :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
        httplib::Headers{{"Authorization", "Basic events-token"}}}) {
    const auto refused =
        client.Post("/events", headers, capture, "application/json");
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 401);
    BOOST_TEST(refused->get_header_value("WWW-Authenticate") == "Bearer");
  }
  BOOST_TEST(served.rejected("unauthorized") == 3);
  BOOST_TEST(served.admitted.empty());
  for (const char *scheme : {"Bearer ", "bearer "}) {
    const auto taken =
        client.Post("/events",
                    httplib::Headers{{"Authorization",
                                      std::string(scheme) + "events-token"}},
                    capture, "application/json");
    BOOST_REQUIRE(taken);
    BOOST_TEST(taken->status == 202);
  }
  BOOST_TEST(served.admitted.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_peer_outside_allow_from_is_403) {
  Served refusing("*", 1024, [](HttpEventSource::Options &options) {
    options.allow_from = *dw::util::NetworkList::parse("10.0.0.0/8,::2");
  });
  const auto refused = refusing.post(read_file(k_create));
  BOOST_REQUIRE(refused);
  BOOST_TEST(refused->status == 403);
  BOOST_TEST(refusing.rejected("forbidden") == 1);
  BOOST_TEST(refusing.admitted.empty());
  Served taking("*", 1024, [](HttpEventSource::Options &options) {
    options.allow_from = *dw::util::NetworkList::parse("127.0.0.0/8");
  });
  const auto taken = taking.post(read_file(k_create));
  BOOST_REQUIRE(taken);
  BOOST_TEST(taken->status == 202);
}

// a Content-Length over the limit is not a way past the screen, nor a way
// to count too_large rejections without the right to send events
BOOST_AUTO_TEST_CASE(a_large_content_length_is_screened_before_its_size) {
  const std::string head = "POST /events HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: 20971520\r\n\r\n";
  Served tokened("*", 1024, [](HttpEventSource::Options &options) {
    options.token.emplace("events-token");
  });
  dw::test::RawConnection unauthorized(tokened.port);
  BOOST_REQUIRE(unauthorized.send(head));
  BOOST_TEST(unauthorized.receive(std::chrono::seconds(10), "\r\n\r\n")
                 .rfind("HTTP/1.1 401", 0) == 0);
  BOOST_TEST(tokened.rejected("unauthorized") == 1);
  BOOST_TEST(tokened.rejected("too_large") == 0);

  Served refusing("*", 1024, [](HttpEventSource::Options &options) {
    options.allow_from = *dw::util::NetworkList::parse("10.0.0.0/8");
  });
  dw::test::RawConnection forbidden(refusing.port);
  BOOST_REQUIRE(forbidden.send(head));
  BOOST_TEST(forbidden.receive(std::chrono::seconds(10), "\r\n\r\n")
                 .rfind("HTTP/1.1 403", 0) == 0);
  BOOST_TEST(refusing.rejected("forbidden") == 1);
  BOOST_TEST(refusing.rejected("too_large") == 0);

  // with the token, the size is refused before any byte of the body
  dw::test::RawConnection authorized(tokened.port);
  BOOST_REQUIRE(authorized.send("POST /events HTTP/1.1\r\nHost: x\r\n"
                                "Authorization: Bearer events-token\r\n"
                                "Content-Length: 20971520\r\n\r\n"));
  BOOST_TEST(authorized.receive(std::chrono::seconds(10), "\r\n\r\n")
                 .rfind("HTTP/1.1 413", 0) == 0);
  BOOST_TEST(tokened.rejected("too_large") == 1);
}

BOOST_AUTO_TEST_CASE(an_admit_that_throws_is_a_store_failure) {
  Served served;
  served.throw_in_admit = true;
  const auto result = served.post(read_file(k_create));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 500);
  BOOST_TEST(result->body.find("secret") == std::string::npos);
  for (const auto &header : result->headers)
    BOOST_TEST(header.second.find("secret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_store_failure_is_500_without_its_text) {
  Served served;
  served.admit_answer =
      tl::unexpected(std::string("redis://:hunter2@db:6379 refused"));
  const auto result = served.post(read_file(k_create));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 500);
  BOOST_TEST(result->body.find("store failed") != std::string::npos);
  BOOST_TEST(result->body.find("hunter2") == std::string::npos);
  // the other subscribers still get it
  served.bus.stop();
  BOOST_TEST(served.collector->events().size() == 1u);
}

BOOST_AUTO_TEST_CASE(other_methods_are_405) {
  Served served;
  httplib::Client client("127.0.0.1", served.port);
  for (const auto &result :
       {client.Get("/events"), client.Put("/events", "{}", "application/json"),
        client.Delete("/events")}) {
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 405);
    BOOST_TEST(result->get_header_value("Allow") == "POST");
  }
  const auto elsewhere = client.Post("/other", "{}", "application/json");
  BOOST_REQUIRE(elsewhere);
  BOOST_TEST(elsewhere->status == 404);
}

BOOST_AUTO_TEST_CASE(serving_goes_on_after_bad_input) {
  Served served;
  for (int i = 0; i < 20; i++) {
    const auto result = served.post(i % 2 ? "{" : "\x01\xff");
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 400);
  }
  const auto result = served.post(read_file(k_create));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 202);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_names_the_setting) {
  Served served;
  HttpEventSource::Options options;
  options.address = {"127.0.0.1", served.port};
  HttpEventSource second(options, served.pipeline,
                         [](const dw::core::Event &) { return true; });
  try {
    second.start();
    BOOST_FAIL("a second source bound the same port");
  } catch (const dw::util::Fatal &e) {
    BOOST_TEST(std::string(e.what()).rfind("DOVEWARDEN_HTTP_ADDR: ", 0) == 0);
  }
  BOOST_TEST(!second.ready());
}

BOOST_AUTO_TEST_CASE(stop_is_idempotent_and_ends_readiness) {
  Served served;
  served.source->stop();
  BOOST_TEST(!served.source->ready());
  served.source->stop();
  BOOST_TEST(!served.post("{}")); // nothing listens any more
}

BOOST_AUTO_TEST_SUITE_END()
