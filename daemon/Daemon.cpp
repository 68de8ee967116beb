#include "Daemon.hpp"

#include "bus/Bus.hpp"
#include "core/Pipeline.hpp"
#include "dovewarden-config.h"
#include "http/StatusServer.hpp"
#include "metrics/Metrics.hpp"
#include "sinks/StreamSink.hpp"
#include "sources/ZmqSource.hpp"
#include "util/Duration.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"
#include "util/System.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

namespace dovewarden {

namespace {

std::string listen_text(const util::ListenAddress &address) {
  return address.host.empty() ? "*:" + std::to_string(address.port)
                              : address.to_string();
}

std::string stream_text(const config::Config &config) {
  if (config.stream.empty())
    return "off";
  return "of " + config.stream_events + " to " +
         (config.stream == "-" ? std::string("stdout") : config.stream) +
         " (batches of " + std::to_string(config.stream_flush_bytes) +
         " bytes or " + util::format_duration(config.stream_flush_interval) +
         ")";
}

} // namespace

Daemon::Daemon(config::Config config)
    : m_config(std::move(config)), m_host(util::host_name()),
      m_metrics(std::make_unique<metrics::Metrics>()),
      m_bus(std::make_unique<bus::Bus>(*m_metrics)),
      m_pipeline(std::make_unique<core::Pipeline>(*m_bus, *m_metrics)) {
  sources::ZmqSource::Options zmq;
  zmq.endpoint = m_config.zmq_endpoint;
  zmq.socket_mode = m_config.zmq_socket_mode;
  zmq.socket_group = m_config.zmq_socket_group;
  zmq.rcvhwm = m_config.zmq_rcvhwm;
  m_sources.push_back(std::make_unique<sources::ZmqSource>(
      std::move(zmq), *m_pipeline,
      [this](const std::string &why) { on_source_failure(why); }));
}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  // nothing at info level until all is set up: a failure is one line
  add_stream_sink();
  m_bus->start();
  start_status_server();
  std::string receiving;
  for (auto &source : m_sources) {
    source->start();
    receiving += (receiving.empty() ? "" : ", ") + source->describe();
  }
  m_started = true;
  publish_internal("daemon.started");
  LOG_INFO("dovewardend ", PACKAGE_VERSION, " ready: receiving on ", receiving,
           "; metrics ",
           m_config.metrics_addr
               ? "on http://" + listen_text(*m_config.metrics_addr)
               : std::string("off"),
           "; stream ", stream_text(m_config));
}

void Daemon::add_stream_sink() {
  if (m_config.stream.empty())
    return;
  sinks::StreamSink::Options options;
  options.path = m_config.stream;
  options.flush_interval = m_config.stream_flush_interval;
  options.flush_bytes = m_config.stream_flush_bytes;
  auto sink = sinks::StreamSink::open(options);
  if (!sink)
    throw util::Fatal("DOVEWARDEN_STREAM: " + sink.error());
  m_bus->subscribe(m_config.stream_events, *sink);
}

void Daemon::start_status_server() {
  if (!m_config.metrics_addr)
    return;
  m_status = std::make_unique<http::StatusServer>(
      *m_config.metrics_addr, *m_metrics, [this] { return ready(); });
  const auto started = m_status->start();
  if (!started)
    throw util::Fatal("DOVEWARDEN_METRICS_ADDR: " + started.error());
}

void Daemon::stop() {
  if (m_stopping.exchange(true))
    return;
  for (auto &source : m_sources)
    source->stop();
  if (m_started)
    publish_internal("daemon.stopped");
  m_bus->stop();
  if (m_status)
    m_status->stop();
  if (m_started)
    LOG_INFO("stopped");
}

bool Daemon::ready() const {
  if (!m_started || m_stopping)
    return false;
  return std::all_of(m_sources.begin(), m_sources.end(),
                     [](const auto &source) { return source->ready(); });
}

void Daemon::publish_internal(const std::string &type) {
  auto event = core::Event::internal(type);
  event.message.set("host", m_host);
  event.message.set("svc", std::string("dovewardend"));
  event.message.set("pid", static_cast<std::int64_t>(::getpid()));
  event.message.set("version", std::string(PACKAGE_VERSION));
  m_pipeline->submit(std::move(event));
}

void Daemon::on_source_failure(const std::string &why) {
  LOG_ERROR(why, "; stopping");
  m_failed = true;
  // main() waits for this signal and stops the daemon from its own thread
  ::kill(::getpid(), SIGTERM);
}

} // namespace dovewarden
