#include "util/HttpConnection.hpp"

#include "util/Logger.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <strings.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace dovewarden::util {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::asio::ip::tcp;

constexpr auto k_linger = std::chrono::seconds(2);
constexpr std::size_t k_read_size = 4096;
constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

// Boost 1.74's Beast has a string_view of its own
std::string_view view(beast::string_view text) {
  return {text.data(), text.size()};
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool has_token(std::string_view value, std::string_view token) {
  for (std::size_t at = 0; at + token.size() <= value.size(); at++) {
    if (::strncasecmp(value.data() + at, token.data(), token.size()) == 0)
      return true;
  }
  return false;
}

// The client went away, or a deadline passed: nothing to answer.
bool gone(beast::error_code error) {
  return error == beast::error::timeout ||
         error == http::error::end_of_stream || error == asio::error::eof ||
         error == asio::error::connection_reset ||
         error == asio::error::operation_aborted ||
         error == http::error::partial_message;
}

bool without_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

} // namespace

HttpConnection::HttpConnection(Context &context, tcp::socket socket)
    : m_context(context), m_stream(std::move(socket)) {
  beast::error_code error;
  const auto peer = m_stream.socket().remote_endpoint(error);
  if (!error) {
    m_peer.remote = peer.address().to_string();
    std::memcpy(&m_peer.remote_address, peer.data(), peer.size());
    m_peer.remote_length = static_cast<socklen_t>(peer.size());
  }
  // an answer is written as its head, then its body: with Nagle's algorithm
  // the body would wait for the client's delayed ACK of the head
  m_stream.socket().set_option(tcp::no_delay(true), error);
}

void HttpConnection::start() {
  m_entry =
      m_context.registry.insert(m_context.registry.end(), weak_from_this());
  m_registered = true;
  m_context.open = m_context.registry.size();
  read_head();
}

void HttpConnection::close() {
  if (m_state == State::closed)
    return;
  m_state = State::closed;
  // first, so that whoever sees the socket close sees the count without it
  if (m_registered) {
    m_context.registry.erase(m_entry);
    m_registered = false;
    m_context.open = m_context.registry.size();
  }
  beast::error_code ignored;
  m_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  m_stream.close();
}

void HttpConnection::wait_for_request() {
  if (m_buffer.size() > 0)
    return read_head();
  m_state = State::idle;
  m_idle_since = Clock::now();
  m_stream.expires_after(m_context.limits.idle_timeout);
  m_stream.async_read_some(
      m_buffer.prepare(k_read_size),
      [self = shared_from_this()](beast::error_code error, std::size_t size) {
        if (self->m_state == State::closed)
          return;
        if (error)
          return self->close();
        self->m_buffer.commit(size);
        self->read_head();
      });
}

void HttpConnection::read_head() {
  m_state = State::head;
  m_parser.emplace();
  m_parser->header_limit(
      static_cast<std::uint32_t>(m_context.limits.max_header));
  // Beast refuses a Content-Length over the limit inside the head, which
  // would answer 413 before the router screens the request; not
  // boost::none, which Boost 1.74's Beast takes as a limit below any length
  m_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  // a deadline for the whole head, however slowly its bytes come
  m_stream.expires_after(m_context.limits.head_timeout);
  http::async_read_header(
      m_stream, m_buffer, *m_parser,
      [self = shared_from_this()](beast::error_code error, std::size_t) {
        self->on_head(error);
      });
}

void HttpConnection::on_head(beast::error_code error) {
  if (m_state == State::closed)
    return;
  if (error == http::error::header_limit) {
    m_context.dropped("header_too_large");
    return answer_and_close(431, "request header fields too large");
  }
  if (error == beast::error::timeout) {
    LOG_DEBUG(m_context.name, ": ", m_peer.remote,
              ": no request head in time, closing");
    m_context.dropped("head_timeout");
  }
  if (gone(error))
    return close();
  if (error) {
    m_context.dropped("bad_request");
    return answer_and_close(400, "bad request");
  }
  if (!take_head())
    return;
  if (parser().content_length().value_or(0) > m_context.limits.max_body)
    return refuse(HttpRefusal::Reason::too_large);
  parser().body_limit(m_context.limits.max_body); // for chunked bodies
  if (parser().is_done())
    return handle();
  if (has_token(view(parser().get()[http::field::expect]), "100-continue")) {
    m_stream.expires_after(m_context.limits.write_timeout);
    asio::async_write(
        m_stream, asio::buffer(k_continue.data(), k_continue.size()),
        [self = shared_from_this()](beast::error_code written, std::size_t) {
          if (self->m_state == State::closed)
            return;
          if (written)
            return self->close();
          self->read_body();
        });
    return;
  }
  read_body();
}

HttpConnection::Parser &HttpConnection::parser() {
  // NOLINTNEXTLINE(bugprone-unchecked-optional-access): made by read_head()
  return *m_parser;
}

void HttpConnection::read_body() {
  m_state = State::body;
  m_stream.expires_after(m_context.limits.body_timeout);
  http::async_read(
      m_stream, m_buffer, parser(),
      [self = shared_from_this()](beast::error_code error, std::size_t) {
        self->on_body(error);
      });
}

void HttpConnection::on_body(beast::error_code error) {
  if (m_state == State::closed)
    return;
  if (error == http::error::body_limit)
    return refuse(HttpRefusal::Reason::too_large);
  if (error == beast::error::timeout) {
    LOG_DEBUG(m_context.name, ": ", m_peer.remote,
              ": no request body in time, closing");
    m_context.dropped("body_timeout");
  }
  if (gone(error))
    return close();
  if (error)
    return refuse(HttpRefusal::Reason::unreadable);
  handle();
}

bool HttpConnection::take_head() {
  const auto &message = parser().get();
  m_request = m_peer;
  m_request.method = std::string(message.method_string());
  if (!m_request.set_target(view(message.target()))) {
    answer_and_close(400, "bad request target");
    return false;
  }
  for (const auto &field : message)
    m_request.headers.emplace_back(std::string(field.name_string()),
                                   std::string(field.value()));
  HttpResponse response;
  try {
    if (!m_context.router.screen(m_request, response))
      return true;
  } catch (const std::exception &e) {
    LOG_ERROR(m_context.name, ": a filter failed: ", e.what());
    answer_and_close(500, "internal error");
    return false;
  }
  // a body not read yet is drained by linger()
  const bool keep_alive = parser().is_done() && message.keep_alive() &&
                          ++m_requests < m_context.limits.max_requests;
  const bool head_only = message.method() == http::verb::head;
  const auto version = message.version();
  m_parser.reset();
  write(std::move(response), keep_alive, head_only, version);
  return false;
}

void HttpConnection::handle() {
  auto &message = parser().get();
  m_request.body = std::move(message.body());
  const bool keep_alive =
      message.keep_alive() && ++m_requests < m_context.limits.max_requests;
  const bool head_only = message.method() == http::verb::head;
  const auto version = message.version();
  m_parser.reset();
  run([&router = m_context.router, request = std::move(m_request)](
          HttpResponse &response) mutable { router.handle(request, response); },
      keep_alive, head_only, version);
}

void HttpConnection::refuse(HttpRefusal::Reason reason) {
  const bool too_large = reason == HttpRefusal::Reason::too_large;
  // a Content-Length over the limit stops the parser inside the head
  const auto announced = std::strtoull(
      std::string(view(parser().get()[http::field::content_length])).c_str(),
      nullptr, 10);
  const HttpRefusal refusal{reason, too_large ? 413 : 400,
                            announced > 0 ? static_cast<std::size_t>(announced)
                                          : parser().get().body().size(),
                            m_context.limits.max_body};
  const auto version = parser().get().version();
  m_parser.reset();
  run([&router = m_context.router,
       refusal](HttpResponse &response) { router.refuse(refusal, response); },
      false, false, version);
}

void HttpConnection::run(std::function<void(HttpResponse &)> work,
                         bool keep_alive, bool head_only, unsigned version) {
  m_state = State::handling;
  m_stream.expires_never();
  asio::post(m_context.pool, [self = shared_from_this(), work = std::move(work),
                              keep_alive, head_only, version] {
    HttpResponse response;
    try {
      work(response);
    } catch (const std::exception &e) {
      LOG_ERROR(self->m_context.name, ": a handler failed: ", e.what());
      response = HttpResponse{};
      response.status = 500;
    }
    asio::post(self->m_stream.get_executor(),
               [self, response = std::move(response), keep_alive, head_only,
                version]() mutable {
                 self->write(std::move(response), keep_alive, head_only,
                             version);
               });
  });
}

void HttpConnection::write(HttpResponse response, bool keep_alive,
                           bool head_only, unsigned version) {
  if (m_state == State::closed)
    return;
  auto message = std::make_shared<http::response<http::string_body>>();
  message->version(version);
  message->result(static_cast<unsigned>(response.status));
  for (auto &[name, value] : response.headers) {
    if (same_name(name, "Connection")) {
      keep_alive = keep_alive && !has_token(value, "close");
      continue;
    }
    message->insert(name, value);
  }
  message->keep_alive(keep_alive);
  if (!without_body(response.status)) {
    message->content_length(response.body.size());
    if (!head_only)
      message->body() = std::move(response.body);
  }
  m_state = State::writing;
  m_stream.expires_after(m_context.limits.write_timeout);
  http::async_write(m_stream, *message,
                    [self = shared_from_this(), message,
                     keep_alive](beast::error_code error, std::size_t) {
                      if (self->m_state == State::closed)
                        return;
                      if (error)
                        return self->close();
                      if (!keep_alive)
                        return self->linger();
                      self->wait_for_request();
                    });
}

void HttpConnection::answer_and_close(int status, const char *text) {
  HttpResponse response;
  response.status = status;
  response.set_content(std::string(text) + "\n", "text/plain");
  const unsigned version = 11;
  m_parser.reset();
  m_stream.expires_never();
  write(std::move(response), false, false, version);
}

void HttpConnection::linger() {
  beast::error_code ignored;
  m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  m_stream.expires_after(k_linger);
  drain();
}

void HttpConnection::drain() {
  m_buffer.consume(m_buffer.size());
  m_stream.async_read_some(
      m_buffer.prepare(k_read_size),
      [self = shared_from_this()](beast::error_code error, std::size_t) {
        if (self->m_state == State::closed)
          return;
        if (error)
          return self->close();
        self->drain();
      });
}

} // namespace dovewarden::util
