#pragma once

#include "sources/Source.hpp"
#include "sources/ZapHandler.hpp"
#include "sources/ZmqConfig.hpp"
#include "util/Throttle.hpp"

#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace dovewarden::metrics {
class Metrics;
}
namespace dovewarden::pipeline {
class Pipeline;
}

namespace dovewarden::sources {

// The plugin's way in: a ZeroMQ PULL socket bound to an endpoint, read on a
// thread of its own. Each message is decoded (shared/wire.hpp); rejects are
// counted and logged, accepted events go to the Pipeline with their sender
// as the kernel saw it. While the bus is full the thread waits in
// Pipeline::submit and stops reading, so the senders' queues fill up
// instead of ours. Peers are let in by their kernel credentials (ipc) or
// their CURVE key, through a ZapHandler (docs/security.md).
class ZmqSource : public sources::Source {
public:
  using Options = ZmqConfig;
  // Called from the receiving thread if it fails for good.
  using FailureHandler = std::function<void(const std::string &why)>;

  ZmqSource(Options options, pipeline::Pipeline &pipeline,
            metrics::Metrics &metrics, FailureHandler on_failure);
  ZmqSource(const ZmqSource &) = delete;
  ZmqSource &operator=(const ZmqSource &) = delete;
  ~ZmqSource() override;

  std::string name() const override { return "zmq"; }
  // Binds the endpoint (refusing the ipc socket of a live daemon, creating
  // its directory and setting its mode and group) and starts receiving.
  // Throws util::Fatal naming the setting on failure.
  void start() override;
  // Stops reading, hands on what the socket had already queued (up to
  // rcvhwm messages), and closes it. Idempotent.
  void stop() override;
  bool ready() const override { return m_ready.load(); }
  std::string describe() const override { return m_description; }

private:
  void bind();
  void authenticate();
  void prepare_ipc_directory(const std::string &path) const;
  // Throws util::Fatal if a live listener has the ipc socket at path;
  // removes a stale one.
  void refuse_live_listener(const std::string &path) const;
  void secure_ipc_socket(const std::string &path) const;
  // Returns why the peer is refused, or nothing (on the ZAP thread).
  std::optional<std::string> judge(const ZapHandler::Request &request);
  void refuse(const std::string &reason, const std::string &peer,
              const char *why);
  void run();
  // Returns true if a message arrived, false on timeout (EAGAIN).
  bool receive(zmq::message_t &message, zmq::recv_flags flags);

  Options m_options;
  pipeline::Pipeline &m_pipeline;
  metrics::Metrics &m_metrics;
  FailureHandler m_on_failure;
  zmq::context_t m_context;
  zmq::socket_t m_socket;
  std::unique_ptr<ZapHandler> m_zap;
  util::Throttle m_refusal_log; // the ZAP thread's
  std::thread m_thread;
  std::atomic<bool> m_stopping{false};
  std::atomic<bool> m_ready{false};
  bool m_ipc = false;   // peers have kernel credentials (abstract too)
  bool m_bound = false; // the ipc file is ours to remove
  std::string m_description;
};

} // namespace dovewarden::sources
