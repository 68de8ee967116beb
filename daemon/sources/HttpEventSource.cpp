#include "sources/HttpEventSource.hpp"

#include "core/Event.hpp"
#include "pipeline/Pipeline.hpp"
#include "sources/ExporterEvent.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdint>

namespace dovewarden::sources {

namespace {

constexpr const char *k_path = "/events";
constexpr const char *k_text = "text/plain";
constexpr auto k_log_interval = std::chrono::minutes(1);

void answer(httplib::Response &response, int status, const std::string &line) {
  response.status = status;
  response.set_content(line + "\n", k_text);
}

} // namespace

HttpEventSource::HttpEventSource(Options options, pipeline::Pipeline &pipeline,
                                 Admit admit)
    : m_options(std::move(options)), m_pipeline(pipeline),
      m_admit(std::move(admit)),
      m_listener("http", m_options.address, m_options.threads),
      m_rejects("http"), m_store_failures(k_log_interval) {
  add_routes();
}

HttpEventSource::~HttpEventSource() { stop(); }

void HttpEventSource::add_routes() {
  auto &server = m_listener.server();
  server.set_payload_max_length(m_options.max_body);
  server.Post(
      k_path,
      [this](const httplib::Request &, httplib::Response &response,
             const httplib::ContentReader &read) { receive(read, response); });
  const auto not_allowed = [](const httplib::Request &,
                              httplib::Response &response) {
    response.set_header("Allow", "POST");
    answer(response, 405, "only POST is allowed on /events");
  };
  server.Get(k_path, not_allowed); // and HEAD
  server.Put(k_path, not_allowed);
  server.Patch(k_path, not_allowed);
  server.Delete(k_path, not_allowed);
  server.Options(k_path, not_allowed);
}

void HttpEventSource::start() {
  const auto started = m_listener.start();
  if (!started)
    throw util::Fatal("DOVEWARDEN_HTTP_ADDR: " + started.error());
  m_ready = true;
}

void HttpEventSource::stop() {
  m_ready = false;
  m_listener.stop();
  std::lock_guard lock(m_log_mutex);
  m_rejects.flush();
}

std::string HttpEventSource::describe() const {
  return "http POST " + m_options.address.to_string() + k_path;
}

void HttpEventSource::receive(const httplib::ContentReader &read,
                              httplib::Response &response) {
  {
    std::lock_guard lock(m_log_mutex);
    m_rejects.tick();
  }
  // a chunked body has no Content-Length for cpp-httplib to check: past the
  // limit, read on without keeping it, so that the client, still sending,
  // gets to read the answer; give up on a body twice the limit
  std::string body;
  std::size_t skipped = 0;
  const bool complete = read([&](const char *data, std::size_t size) {
    if (skipped == 0 && size <= m_options.max_body - body.size()) {
      body.append(data, size);
      return true;
    }
    skipped += size;
    return skipped <= m_options.max_body;
  });
  // cpp-httplib sets 413 itself when Content-Length is over the limit
  if (skipped > 0 || response.status == 413) {
    reject("too_large", body.size() + skipped);
    response.set_header("Connection", "close");
    answer(response, 413,
           "request body larger than " + std::to_string(m_options.max_body) +
               " bytes");
    return;
  }
  if (!complete) {
    reject("unreadable", body.size());
    response.set_header("Connection", "close");
    answer(response, 400, "the request body could not be read");
    return;
  }
  handle(body, response);
}

void HttpEventSource::handle(const std::string &body,
                             httplib::Response &response) {
  auto parsed = ExporterEvent::parse(body, std::chrono::system_clock::now());
  if (!parsed) {
    reject(ExporterEvent::reject_name(parsed.error().reason), body.size());
    answer(response, 400, parsed.error().message);
    return;
  }
  auto &event = *parsed;
  event.source = name();
  const auto admitted = admit(event);
  if (!admitted)
    log_store_failure(admitted.error());
  const auto taken = m_pipeline.submit(std::move(event));
  if (!admitted) {
    // the store's text may name its server; it stays in the log
    answer(response, 500,
           "the store failed to take the event; see the "
           "daemon's log");
  } else if (*admitted || taken > 0) {
    answer(response, 202, "accepted");
  } else {
    response.status = 204;
  }
}

tl::expected<bool, std::string>
HttpEventSource::admit(const core::Event &event) {
  if (!m_admit)
    return false;
  // cpp-httplib would put what() into a response header
  try {
    return m_admit(event);
  } catch (const std::exception &e) {
    return tl::unexpected(std::string("admit threw: ") + e.what());
  }
}

void HttpEventSource::reject(const char *reason, std::size_t size) {
  m_pipeline.reject(name(), reason);
  std::lock_guard lock(m_log_mutex);
  m_rejects.record(reason, size);
}

void HttpEventSource::log_store_failure(const std::string &error) {
  std::lock_guard lock(m_log_mutex);
  if (!m_store_failures.allow())
    return;
  const auto suppressed = m_store_failures.take_suppressed();
  LOG_ERROR("http: storing an event failed: ", error,
            suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                 " more failures since the last report)"
                           : std::string());
}

} // namespace dovewarden::sources
