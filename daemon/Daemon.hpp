#pragma once

#include "config/Config.hpp"
#include "util/HttpListener.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace dovewarden::audit {
class AuditMetrics;
class AuditStore;
class AuditWriter;
class CheckpointSigner;
class Retention;
} // namespace dovewarden::audit
namespace dovewarden::bus {
class Bus;
}
namespace dovewarden::http {
class StatusServer;
struct Readiness;
} // namespace dovewarden::http
namespace dovewarden::metrics {
class Metrics;
}
namespace dovewarden::pipeline {
class Pipeline;
}
namespace dovewarden::replication {
class DoveadmClient;
class ReplicationFeed;
class ReplicationMetrics;
class Replicator;
} // namespace dovewarden::replication
namespace dovewarden::sinks {
class StreamSink;
}
namespace dovewarden::sources {
class Source;
}
namespace dovewarden::store {
class ReplicationStore;
}
namespace dovewarden::admin {
class AdminServer;
class AuditApi;
class EventsApi;
class ReplicationApi;
class WebhookApi;
} // namespace dovewarden::admin
namespace dovewarden::webhook {
class Deliverer;
class Dispatcher;
class WebhookMetrics;
class WebhookStore;
} // namespace dovewarden::webhook

namespace dovewarden {

// Wires the stages together: sources -> pipeline (loss detection) -> bus ->
// subscribers (stream; replication feed -> store <- replicator; webhook
// dispatcher -> outbox <- deliverer; audit writer -> audit store <-
// retention), plus the status and admin listeners.
// main() owns one.
class Daemon {
public:
  explicit Daemon(config::Config config);
  Daemon(const Daemon &) = delete;
  Daemon &operator=(const Daemon &) = delete;
  ~Daemon();

  // Opens the sinks, binds the listeners and the sources, and publishes
  // daemon.started. Throws util::Fatal naming the setting if one of them
  // cannot be set up.
  void start();
  // Stops the sources, publishes daemon.stopped, drains the bus and its
  // subscribers, then closes the status listener. Idempotent.
  void stop();

  // Reopens the stream file, for logrotate (SIGHUP), and logs what it did.
  void reopen_stream();

  // Returns true while every source is receiving, every store can write
  // and no stop has begun.
  bool ready() const;
  // Returns ready(), and lines naming what is wrong or degraded.
  http::Readiness readiness() const;
  // Returns true if a source failed for good and asked the daemon to stop.
  bool failed() const { return m_failed.load(); }

private:
  void add_stream_sink();
  void add_replication();
  void add_webhooks();
  void add_audit();
  // Returns what counts listener's dropped connections in the metrics.
  util::HttpListener::DropCounter drop_counter(const char *listener);
  void add_http_source();
  void start_admin_server();
  void start_status_server();
  void publish_internal(const std::string &type);
  void on_source_failure(const std::string &why);

  config::Config m_config;
  std::string m_host;
  std::unique_ptr<metrics::Metrics> m_metrics;
  std::unique_ptr<bus::Bus> m_bus;
  std::unique_ptr<pipeline::Pipeline> m_pipeline;
  std::vector<std::unique_ptr<sources::Source>> m_sources;
  std::shared_ptr<sinks::StreamSink> m_stream;
  std::unique_ptr<replication::ReplicationMetrics> m_replication_metrics;
  std::unique_ptr<store::ReplicationStore> m_store;
  std::unique_ptr<replication::DoveadmClient> m_doveadm;
  std::shared_ptr<replication::ReplicationFeed> m_feed;
  std::unique_ptr<replication::Replicator> m_replicator;
  std::unique_ptr<webhook::WebhookMetrics> m_webhook_metrics;
  std::unique_ptr<webhook::WebhookStore> m_webhook_store;
  std::shared_ptr<webhook::Dispatcher> m_dispatcher;
  std::unique_ptr<webhook::Deliverer> m_deliverer;
  std::unique_ptr<audit::AuditMetrics> m_audit_metrics;
  std::unique_ptr<audit::AuditStore> m_audit_store;
  std::unique_ptr<audit::CheckpointSigner> m_audit_signer;
  std::shared_ptr<audit::AuditWriter> m_audit_writer;
  std::unique_ptr<audit::Retention> m_retention;
  std::unique_ptr<admin::ReplicationApi> m_replication_api;
  std::unique_ptr<admin::WebhookApi> m_webhook_api;
  std::unique_ptr<admin::AuditApi> m_audit_api;
  std::unique_ptr<admin::EventsApi> m_events_api;
  std::unique_ptr<admin::AdminServer> m_admin;
  std::string m_admin_text = "off"; // for the start-up line
  std::unique_ptr<http::StatusServer> m_status;
  prometheus::Family<prometheus::Counter> *m_dropped = nullptr;
  std::atomic<bool> m_started{false};
  std::atomic<bool> m_stopping{false};
  std::atomic<bool> m_failed{false};
};

} // namespace dovewarden
