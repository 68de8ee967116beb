#pragma once

#include "sources/Source.hpp"

#include <zmq.hpp>

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace dovewarden::pipeline {
class Pipeline;
}

namespace dovewarden::sources {

// The plugin's way in: a ZeroMQ PULL socket bound to an endpoint, read on a
// thread of its own. Each message is decoded (shared/wire.hpp); rejects are
// counted and logged, accepted events go to the Pipeline. While the bus is
// full the thread waits in Pipeline::submit and stops reading, so the
// senders' queues fill up instead of ours.
class ZmqSource : public sources::Source {
public:
  struct Options {
    std::string endpoint;              // ipc://PATH or tcp://HOST:PORT
    mode_t socket_mode = 0666;         // ipc socket file permissions
    std::optional<gid_t> socket_group; // ipc socket file group
    int rcvhwm = 100000;               // ZMQ_RCVHWM
  };
  // Called from the receiving thread if it fails for good.
  using FailureHandler = std::function<void(const std::string &why)>;

  ZmqSource(Options options, pipeline::Pipeline &pipeline,
            FailureHandler on_failure);
  ZmqSource(const ZmqSource &) = delete;
  ZmqSource &operator=(const ZmqSource &) = delete;
  ~ZmqSource() override;

  std::string name() const override { return "zmq"; }
  // Binds the endpoint (refusing the ipc socket of a live daemon, creating
  // its directory and setting its mode and group) and starts receiving. Throws util::Fatal naming the
  // setting on failure.
  void start() override;
  // Stops reading, hands on what the socket had already queued (up to
  // rcvhwm messages), and closes it. Idempotent.
  void stop() override;
  bool ready() const override { return m_ready.load(); }
  std::string describe() const override { return m_description; }

private:
  void bind();
  void prepare_ipc_directory(const std::string &path) const;
  // Throws util::Fatal if a live listener has the ipc socket at path;
  // removes a stale one.
  void refuse_live_listener(const std::string &path) const;
  void secure_ipc_socket(const std::string &path) const;
  void run();
  // Returns true if a message arrived, false on timeout (EAGAIN).
  bool receive(zmq::message_t &message, zmq::recv_flags flags);

  Options m_options;
  pipeline::Pipeline &m_pipeline;
  FailureHandler m_on_failure;
  zmq::context_t m_context;
  zmq::socket_t m_socket;
  std::thread m_thread;
  std::atomic<bool> m_stopping{false};
  std::atomic<bool> m_ready{false};
  bool m_bound = false; // the ipc file is ours to remove
  std::string m_description;
};

} // namespace dovewarden::sources
