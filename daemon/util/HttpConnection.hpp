#pragma once

#include "util/HttpLimits.hpp"
#include "util/HttpRefusal.hpp"
#include "util/HttpRequest.hpp"
#include "util/HttpResponse.hpp"
#include "util/HttpRouter.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::util {

// One client connection of an HttpListener (Boost.Beast): reads each
// request within the limits' deadlines on the listener's I/O thread, runs
// the router on the worker pool, and writes the answer back. All its
// methods run on the I/O thread.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
  using Clock = std::chrono::steady_clock;
  using Registry = std::list<std::weak_ptr<HttpConnection>>;

  // What every connection of a listener shares; it outlives them.
  struct Context {
    boost::asio::thread_pool &pool;
    const HttpRouter &router;
    const HttpLimits &limits;
    const std::string &name;
    Registry &registry;
    std::atomic<std::size_t> &open; // the registry's size, for any thread
    const std::function<void(std::string_view)> &drop; // may be empty

    void dropped(std::string_view reason) const {
      if (drop)
        drop(reason);
    }
  };

  HttpConnection(Context &context, boost::asio::ip::tcp::socket socket);
  HttpConnection(const HttpConnection &) = delete;
  HttpConnection &operator=(const HttpConnection &) = delete;

  // Adds the connection to the registry and reads its first request.
  void start();
  // Closes the connection at once.
  void close();
  // Returns true while a keep-alive connection waits for its next request.
  bool idle() const { return m_state == State::idle; }
  Clock::time_point idle_since() const { return m_idle_since; }

private:
  enum class State { head, idle, body, handling, writing, closed };
  using Parser =
      boost::beast::http::request_parser<boost::beast::http::string_body>;

  void wait_for_request();
  void read_head();
  void on_head(boost::beast::error_code error);
  void read_body();
  void on_body(boost::beast::error_code error);
  // Returns false if it answered the head itself.
  bool take_head();
  void handle();
  void refuse(HttpRefusal::Reason reason);
  // The parser of the request being read: read_head() makes it, and it
  // lasts until the request is taken (take_head(), handle(), refuse()).
  Parser &parser();
  // Runs work (which fills in an answer) on the pool, then writes it.
  void run(std::function<void(HttpResponse &)> work, bool keep_alive,
           bool head_only, unsigned version);
  void write(HttpResponse response, bool keep_alive, bool head_only,
             unsigned version);
  // Answers status with a line of text and closes, without a route.
  void answer_and_close(int status, const char *text);
  // Stops sending and reads what the client still sends for a moment, so
  // that it reads the answer before the connection closes.
  void linger();
  // Reads and drops what comes, until the client is done or the deadline.
  void drain();

  Context &m_context;
  boost::beast::tcp_stream m_stream;
  boost::beast::flat_buffer m_buffer;
  std::optional<Parser> m_parser;
  HttpRequest m_peer;    // who the client is
  HttpRequest m_request; // the one being read
  State m_state = State::head;
  unsigned m_requests = 0;
  Clock::time_point m_idle_since;
  Registry::iterator m_entry;
  bool m_registered = false;
};

} // namespace dovewarden::util
