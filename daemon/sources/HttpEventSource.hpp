#pragma once

#include "sources/RejectSummary.hpp"
#include "sources/Source.hpp"
#include "util/BearerToken.hpp"
#include "util/HttpListener.hpp"
#include "util/ListenAddress.hpp"
#include "util/NetworkList.hpp"
#include "util/Throttle.hpp"

#include <tl/expected.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace dovewarden::core {
struct Event;
}
namespace dovewarden::pipeline {
class Pipeline;
}

namespace dovewarden::sources {

// Stock Dovecot's way in: POST /events with one event_exporter JSON object
// (ExporterEvent) per request, on a listener of its own. Each event is
// first offered to admit (the replication store), then submitted to the
// Pipeline with source "http". Answers 202 if admit stored it or a
// subscriber took it, 204 if neither wanted it, 400 if the body is not an
// event, 413 if it is larger than max_body, 500 if admit failed (the event
// still goes to the Pipeline: Dovecot does not retry, and the other
// subscribers need not lose it), 405 for other methods. With allow_from, a
// peer outside it is refused with 403; with a token, a request without it
// with 401; both before the body is read, and counted.
class HttpEventSource : public sources::Source {
public:
  struct Options {
    util::ListenAddress address{"127.0.0.1", 8080};
    std::size_t max_body = std::size_t{10} * 1024 * 1024; // bytes
    unsigned threads = 4; // that parse and admit events
    util::HttpLimits limits;
    std::optional<util::BearerToken> token; // nothing: none needed
    util::NetworkList allow_from;           // empty: every peer
  };
  // Returns true if the event was stored durably, false if it does not
  // concern the store, or an error text if storing failed. Called from the
  // listener's threads, several at once.
  using Admit =
      std::function<tl::expected<bool, std::string>(const core::Event &)>;

  HttpEventSource(Options options, pipeline::Pipeline &pipeline, Admit admit);
  HttpEventSource(const HttpEventSource &) = delete;
  HttpEventSource &operator=(const HttpEventSource &) = delete;
  ~HttpEventSource() override;

  // Counts the connections the listener drops; call before start().
  void on_drop(util::HttpListener::DropCounter count) {
    m_listener.on_drop(std::move(count));
  }

  std::string name() const override { return "http"; }
  // Binds the address and starts serving. Throws util::Fatal naming
  // DOVEWARDEN_HTTP_ADDR if it cannot be bound.
  void start() override;
  // Stops serving after the requests in progress. Idempotent.
  void stop() override;
  bool ready() const override { return m_ready.load(); }
  std::string describe() const override;

private:
  void add_routes();
  // Returns true if it refused the request for its peer or its token.
  bool screen(const util::HttpRequest &request, util::HttpResponse &response);
  void handle(const std::string &body, util::HttpResponse &response);
  // Returns what m_admit says, or its exception's text as an error.
  tl::expected<bool, std::string> admit(const core::Event &event);
  // Counts and logs a rejected body of size bytes.
  void reject(const char *reason, std::size_t size);
  // Counts and logs, at most once a minute, a request refused for reason.
  void refuse(const char *reason, const std::string &peer, const char *why);
  void log_store_failure(const std::string &error);

  Options m_options;
  pipeline::Pipeline &m_pipeline;
  Admit m_admit;
  util::HttpListener m_listener;
  std::atomic<bool> m_ready{false};
  std::mutex m_log_mutex; // guards the three below
  RejectSummary m_rejects;
  util::Throttle m_store_failures;
  util::Throttle m_refusals;
};

} // namespace dovewarden::sources
