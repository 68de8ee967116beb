#include "util/HttpListener.hpp"

#include "util/HttpConnection.hpp"
#include "util/Logger.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

namespace dovewarden::util {

namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

constexpr auto k_accept_retry = std::chrono::milliseconds(100);
constexpr std::string_view k_full =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    "Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";

} // namespace

// The Boost.Asio side: the acceptor, the open connections, the threads.
class HttpListener::Server {
public:
  Server(const std::string &name, const HttpRouter &router,
         const HttpLimits &limits, const DropCounter &drop)
      : m_name(name), m_pool(std::max(1u, limits.threads)),
        m_limits(limits), m_context{m_pool,     router, limits, m_name,
                                    m_registry, m_open, drop} {}

  ~Server() { stop(); }

  tl::expected<void, std::string> bind(const ListenAddress &address) {
    boost::system::error_code error;
    if (address.host.empty()) {
      // "::" takes IPv4 too, unless the host has no IPv6
      if (!open(tcp::endpoint(tcp::v6(), address.port), error))
        open(tcp::endpoint(tcp::v4(), address.port), error);
    } else {
      tcp::resolver resolver(m_io);
      const auto found = resolver.resolve(
          address.host, std::to_string(address.port),
          tcp::resolver::passive | tcp::resolver::numeric_service, error);
      for (const auto &entry : found) {
        if (open(entry.endpoint(), error))
          break;
      }
    }
    if (!m_acceptor.is_open())
      return tl::unexpected("cannot listen on " + address.to_string() +
                            (error ? ": " + error.message() : std::string()));
    return {};
  }

  void start() {
    accept();
    m_thread = std::thread([this] { m_io.run(); });
  }

  void stop() {
    if (!m_thread.joinable())
      return;
    std::promise<void> closed;
    asio::post(m_io, [this, &closed] {
      m_stopping = true;
      boost::system::error_code ignored;
      m_acceptor.close(ignored);
      for (const auto &entry : std::vector<std::weak_ptr<HttpConnection>>(
               m_registry.begin(), m_registry.end())) {
        if (const auto connection = entry.lock())
          connection->close();
      }
      closed.set_value();
    });
    closed.get_future().wait();
    // the handlers running finish; those not started yet are dropped
    m_pool.stop();
    m_pool.join();
    m_work.reset();
    m_io.stop();
    m_thread.join();
  }

  std::size_t connections() const { return m_open; }

private:
  bool open(const tcp::endpoint &endpoint, boost::system::error_code &error) {
    boost::system::error_code ignored;
    m_acceptor.close(ignored);
    m_acceptor.open(endpoint.protocol(), error);
    if (error)
      return false;
    m_acceptor.set_option(tcp::acceptor::reuse_address(true), ignored);
    if (endpoint.protocol() == tcp::v6())
      m_acceptor.set_option(asio::ip::v6_only(false), ignored);
    m_acceptor.bind(endpoint, error);
    if (!error)
      m_acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      m_acceptor.close(ignored);
      return false;
    }
    return true;
  }

  void accept() {
    m_acceptor.async_accept(
        [this](boost::system::error_code error, tcp::socket socket) {
          if (m_stopping)
            return;
          if (error) {
            // out of file descriptors, most likely: let some close
            LOG_WARN(m_name, ": accept failed: ", error.message());
            m_retry.expires_after(k_accept_retry);
            m_retry.async_wait([this](boost::system::error_code) {
              if (!m_stopping)
                accept();
            });
            return;
          }
          admit(std::move(socket));
          accept();
        });
  }

  void admit(tcp::socket socket) {
    if (m_registry.size() >= m_limits.max_connections && !evict_idle()) {
      LOG_DEBUG(m_name, ": ", m_limits.max_connections,
                " connections open, refusing another");
      m_context.dropped("too_many_connections");
      boost::system::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(k_full.data(), k_full.size()), ignored);
      socket.close(ignored);
      return;
    }
    std::make_shared<HttpConnection>(m_context, std::move(socket))->start();
  }

  // Closes the connection idle the longest. Returns false if none is idle.
  bool evict_idle() {
    std::shared_ptr<HttpConnection> oldest;
    for (const auto &entry : m_registry) {
      const auto connection = entry.lock();
      if (connection && connection->idle() &&
          (!oldest || connection->idle_since() < oldest->idle_since()))
        oldest = connection;
    }
    if (!oldest)
      return false;
    oldest->close();
    m_context.dropped("evicted_idle");
    return true;
  }

  const std::string &m_name;
  asio::io_context m_io{1};
  asio::executor_work_guard<asio::io_context::executor_type> m_work{
      m_io.get_executor()};
  tcp::acceptor m_acceptor{m_io};
  asio::steady_timer m_retry{m_io};
  asio::thread_pool m_pool;
  const HttpLimits &m_limits;
  HttpConnection::Registry m_registry;
  std::atomic<std::size_t> m_open{0};
  HttpConnection::Context m_context;
  bool m_stopping = false;
  std::thread m_thread;
};

HttpListener::HttpListener(std::string name, ListenAddress address,
                           HttpLimits limits)
    : m_name(std::move(name)), m_address(std::move(address)), m_limits(limits) {
}

HttpListener::~HttpListener() { stop(); }

tl::expected<void, std::string> HttpListener::start() {
  auto server = std::make_unique<Server>(m_name, m_router, m_limits, m_drop);
  const auto bound = server->bind(m_address);
  if (!bound)
    return tl::unexpected(bound.error());
  server->start();
  m_server = std::move(server);
  LOG_DEBUG(m_name, ": listening on ", m_address.to_string());
  return {};
}

void HttpListener::stop() {
  if (m_server)
    m_server->stop();
}

std::size_t HttpListener::connections() const {
  return m_server ? m_server->connections() : 0;
}

} // namespace dovewarden::util
