#pragma once

#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace dovewarden::sources {

// Answers ZeroMQ's authentication requests (ZAP, RFC 27) for the sockets of
// one context that set a ZAP domain: libzmq asks before it lets a peer's
// handshake complete, and refuses the peer unless the answer is 200.
class ZapHandler {
public:
  // What libzmq tells of a connecting peer.
  struct Request {
    std::string_view domain;
    std::string_view address;    // the peer's IP, or ipc's ":UID:GID:PID"
    std::string_view mechanism;  // "NULL", "PLAIN" or "CURVE"
    std::string_view credential; // CURVE: the peer's 32-byte public key
  };
  // Returns why the peer is refused (a short snake_case reason), or nothing
  // to let it in. Called on the handler's thread.
  using Judge = std::function<std::optional<std::string>(const Request &)>;

  ZapHandler(zmq::context_t &context, Judge judge);
  ZapHandler(const ZapHandler &) = delete;
  ZapHandler &operator=(const ZapHandler &) = delete;
  ~ZapHandler();

  // Binds the context's ZAP endpoint and starts answering. Until then, a
  // socket with a ZAP domain lets every peer in: start this first.
  void start();
  // Stops answering. Idempotent.
  void stop();

private:
  void run();
  void answer(const std::vector<zmq::message_t> &request);

  zmq::socket_t m_socket;
  Judge m_judge;
  std::thread m_thread;
  std::atomic<bool> m_stopping{false};
};

} // namespace dovewarden::sources
