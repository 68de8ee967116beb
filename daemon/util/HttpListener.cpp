#include "util/HttpListener.hpp"

#include "util/Logger.hpp"
#include "util/System.hpp"

#include <httplib.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace dovewarden::util {

namespace {

void socket_options(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  // "::" should take IPv4 too; fails harmlessly on an IPv4 socket
  int no = 0;
  ::setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));
}

} // namespace

HttpListener::HttpListener(std::string name, ListenAddress address, int threads)
    : m_name(std::move(name)), m_address(std::move(address)),
      m_server(std::make_unique<httplib::Server>()) {
  const auto count = static_cast<std::size_t>(threads < 1 ? 1 : threads);
  m_server->new_task_queue = [count] { return new httplib::ThreadPool(count); };
  m_server->set_socket_options(socket_options);
  // an answer is written as its head, then its body: with Nagle's algorithm
  // the body waits for the client's delayed ACK of the head, 40 ms a request
  m_server->set_tcp_nodelay(true);
  m_server->set_keep_alive_max_count(10);
  m_server->set_read_timeout(5, 0);
  m_server->set_write_timeout(5, 0);
}

HttpListener::~HttpListener() { stop(); }

tl::expected<void, std::string> HttpListener::start() {
  errno = 0;
  bool bound = false;
  if (m_address.host.empty()) {
    bound = m_server->bind_to_port("::", m_address.port) ||
            m_server->bind_to_port("0.0.0.0", m_address.port);
  } else {
    bound = m_server->bind_to_port(m_address.host, m_address.port);
  }
  if (!bound) {
    const int errnum = errno;
    return tl::unexpected(
        "cannot listen on " + m_address.to_string() +
        (errnum != 0 ? ": " + error_text(errnum) : std::string()));
  }
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
  LOG_DEBUG(m_name, ": listening on ", m_address.to_string());
  return {};
}

void HttpListener::stop() {
  if (!m_thread.joinable())
    return;
  // cpp-httplib ignores stop() until its thread has begun listening; if
  // that thread ended instead, join() below returns at once
  for (int i = 0; i < 1000 && !m_server->is_running(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m_server->stop();
  m_thread.join();
}

} // namespace dovewarden::util
