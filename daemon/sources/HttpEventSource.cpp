#include "sources/HttpEventSource.hpp"

#include "core/Event.hpp"
#include "pipeline/Pipeline.hpp"
#include "sources/ExporterEvent.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"

#include <array>
#include <chrono>
#include <cstdint>

namespace dovewarden::sources {

namespace {

constexpr const char *k_path = "/events";
constexpr const char *k_text = "text/plain";
constexpr auto k_log_interval = std::chrono::minutes(1);
// what reject() and refuse() count besides ExporterEvent's reasons
constexpr std::array<const char *, 4> k_own_rejects{
    "too_large", "unreadable", "forbidden", "unauthorized"};

void answer(util::HttpResponse &response, int status, const std::string &line) {
  response.status = status;
  response.set_content(line + "\n", k_text);
}

util::HttpLimits source_limits(const HttpEventSource::Options &options) {
  auto limits = options.limits;
  limits.max_body = options.max_body;
  limits.threads = options.threads;
  return limits;
}

} // namespace

HttpEventSource::HttpEventSource(Options options, pipeline::Pipeline &pipeline,
                                 Admit admit)
    : m_options(std::move(options)), m_pipeline(pipeline),
      m_admit(std::move(admit)),
      m_listener("http", m_options.address, source_limits(m_options)),
      m_rejects("http"), m_store_failures(k_log_interval),
      m_refusals(k_log_interval) {
  for (const auto reason : ExporterEvent::k_rejects)
    m_pipeline.expect_rejection(name(), ExporterEvent::reject_name(reason));
  for (const char *reason : k_own_rejects)
    m_pipeline.expect_rejection(name(), reason);
  add_routes();
}

HttpEventSource::~HttpEventSource() { stop(); }

void HttpEventSource::add_routes() {
  using util::HttpRequest;
  using util::HttpResponse;
  auto &router = m_listener.router();
  router.before([this](const HttpRequest &request, HttpResponse &response) {
    return screen(request, response);
  });
  router.add("POST", k_path,
             [this](const HttpRequest &request, HttpResponse &response) {
               {
                 std::lock_guard lock(m_log_mutex);
                 m_rejects.tick();
               }
               handle(request.body, response);
             });
  router.on_refusal(
      [this](const util::HttpRefusal &refusal, HttpResponse &response) {
        response.set_header("Connection", "close");
        if (refusal.reason == util::HttpRefusal::Reason::too_large) {
          reject("too_large", refusal.body_size);
          answer(response, 413,
                 "request body larger than " +
                     std::to_string(refusal.max_body) + " bytes");
        } else {
          reject("unreadable", refusal.body_size);
          answer(response, 400, "the request body could not be read");
        }
      });
  const auto not_allowed = [](const HttpRequest &, HttpResponse &response) {
    response.set_header("Allow", "POST");
    answer(response, 405, "only POST is allowed on /events");
  };
  for (const char *method : {"GET", "PUT", "PATCH", "DELETE", "OPTIONS"})
    router.add(method, k_path, not_allowed); // GET: HEAD too
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

bool HttpEventSource::screen(const util::HttpRequest &request,
                             util::HttpResponse &response) {
  if (!m_options.allow_from.empty() &&
      !m_options.allow_from.contains(
          reinterpret_cast<const sockaddr &>(request.remote_address),
          request.remote_length)) {
    refuse("forbidden", request.remote, "not in DOVEWARDEN_HTTP_ALLOW_FROM");
    answer(response, 403, request.remote + " may not send events");
    return true;
  }
  if (m_options.token) {
    const auto header = request.header("Authorization");
    const auto presented = util::BearerToken::from_header(header);
    if (!presented || !m_options.token->verify(*presented)) {
      refuse("unauthorized", request.remote, "no valid bearer token");
      response.set_header("WWW-Authenticate", "Bearer");
      answer(response, 401, "a valid bearer token is needed");
      return true;
    }
  }
  return false;
}

void HttpEventSource::handle(const std::string &body,
                             util::HttpResponse &response) {
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
  // what() may name the store's server: it goes to the log only
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

void HttpEventSource::refuse(const char *reason, const std::string &peer,
                             const char *why) {
  m_pipeline.reject(name(), reason);
  std::lock_guard lock(m_log_mutex);
  if (!m_refusals.allow())
    return;
  const auto suppressed = m_refusals.take_suppressed();
  LOG_WARN("http: refused a request from ", peer, ": ", why,
           suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                " more refusals since the last report)"
                          : std::string());
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
