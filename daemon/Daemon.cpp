#include "Daemon.hpp"

#include "admin/AdminServer.hpp"
#include "admin/AdminToken.hpp"
#include "admin/AuditApi.hpp"
#include "admin/EventsApi.hpp"
#include "admin/ReplicationApi.hpp"
#include "admin/WebhookApi.hpp"
#include "audit/AuditMetrics.hpp"
#include "audit/AuditWriter.hpp"
#include "audit/Checkpoint.hpp"
#include "audit/DeferredAuditStore.hpp"
#include "audit/PostgresAuditStore.hpp"
#include "audit/Retention.hpp"
#include "audit/SqliteAuditStore.hpp"
#include "bus/Bus.hpp"
#include "dovewarden-config.h"
#include "http/StatusServer.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "replication/DoveadmClient.hpp"
#include "replication/ReplicationFeed.hpp"
#include "replication/ReplicationMetrics.hpp"
#include "replication/Replicator.hpp"
#include "sinks/StreamSink.hpp"
#include "sources/HttpEventSource.hpp"
#include "sources/ZmqSource.hpp"
#include "store/RedisStore.hpp"
#include "store/SqliteStore.hpp"
#include "util/BearerToken.hpp"
#include "util/Duration.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"
#include "util/PrivateFiles.hpp"
#include "util/System.hpp"
#include "webhook/Deliverer.hpp"
#include "webhook/Dispatcher.hpp"
#include "webhook/RedisWebhookStore.hpp"
#include "webhook/SqliteWebhookStore.hpp"
#include "webhook/WebhookMetrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>

namespace dovewarden {

namespace {

std::string listen_text(const util::ListenAddress &address) {
  return address.host.empty() ? "*:" + std::to_string(address.port)
                              : address.to_string();
}

// the leases of this daemon's syncs: host and pid, so that a restarted
// daemon can tell its dead predecessor's leases from a live neighbour's
std::string lease_owner(const std::string &host) {
  return host + ":" + std::to_string(::getpid());
}

store::RedisStore::Options
redis_options(const replication::ReplicationConfig &config) {
  store::RedisStore::Options options;
  options.host = config.redis_addr.host;
  options.port = config.redis_addr.port;
  options.password = config.redis_password;
  options.ns = config.redis_namespace;
  options.sentinel.sentinels = config.redis_sentinels;
  options.sentinel.master = config.redis_sentinel_master;
  options.sentinel.password = config.redis_sentinel_password;
  return options;
}

// Opens the store of type Sqlite or Redis that the configuration names.
template <typename Store, typename Sqlite, typename Redis>
std::unique_ptr<Store>
open_store(const replication::ReplicationConfig &config) {
  if (config.store == replication::StoreMode::embedded) {
    auto opened = Sqlite::open(config.store_path);
    if (!opened)
      throw util::Fatal("DOVEWARDEN_STORE_PATH: " + opened.error().message);
    return std::move(*opened);
  }
  auto connected = Redis::connect(redis_options(config));
  if (!connected)
    throw util::Fatal((config.redis_sentinels.empty()
                           ? "DOVEWARDEN_REDIS_ADDR: "
                           : "DOVEWARDEN_REDIS_SENTINELS: ") +
                      connected.error().message);
  return std::move(*connected);
}

// The Redis store leaves the store directory alone; the admin token made
// there needs it, as private as SQLite's.
void make_token_directory(const std::string &directory) {
  std::error_code ignored;
  std::filesystem::create_directories(
      std::filesystem::path(directory).parent_path(), ignored);
  if (auto made = util::make_private_directory(directory); !made)
    throw util::Fatal("DOVEWARDEN_STORE_PATH: " + made.error());
}

std::string stream_text(const config::Config &config) {
  if (config.stream.empty())
    return "off";
  return "of " + config.stream_events + " to " +
         (config.stream == "-" ? std::string("stdout") : config.stream) +
         " (batches of " + std::to_string(config.stream_flush_bytes) +
         " bytes or " + util::format_duration(config.stream_flush_interval) +
         ", " +
         (config.stream_overflow == bus::Bus::Overflow::drop ? "dropping"
                                                             : "blocking") +
         " beyond " + std::to_string(config.stream_queue) + " queued)";
}

std::string replication_text(const replication::ReplicationConfig &config,
                             const store::ReplicationStore &store) {
  return std::string("to ") +
         (config.doveadm_dest_from_userdb ? "each user's mail_replica, else "
                                          : "") +
         config.doveadm_dest + " via " + config.doveadm_url + ", store " +
         store.describe();
}

// Returns how the audit store is opened: SQLite beside the replication
// store, or PostgreSQL.
audit::DeferredAuditStore::Open audit_opener(const config::Config &config,
                                             const std::string &chain) {
  using Opened = audit::AuditStore::Result<std::unique_ptr<audit::AuditStore>>;
  if (config.audit.dsn.empty()) {
    return [directory = config.replication.store_path, chain]() -> Opened {
      auto opened = audit::SqliteAuditStore::open(directory, chain);
      if (!opened)
        return tl::unexpected(opened.error());
      return std::unique_ptr<audit::AuditStore>(std::move(*opened));
    };
  }
  return [dsn = config.audit.dsn, chain]() -> Opened {
    audit::PostgresAuditStore::Options options;
    options.dsn = dsn;
    auto opened = audit::PostgresAuditStore::open(std::move(options), chain);
    if (!opened)
      return tl::unexpected(opened.error());
    return std::unique_ptr<audit::AuditStore>(std::move(*opened));
  };
}

// Opens the audit store. One that cannot be reached does not stop the
// start: the writer's first call reports it down, and keeps the records
// until it opens. A DSN that is not one does.
std::unique_ptr<audit::AuditStore>
open_audit_store(const config::Config &config, const std::string &chain) {
  auto open = audit_opener(config, chain);
  auto opened = open();
  const char *setting = config.audit.dsn.empty() ? "DOVEWARDEN_STORE_PATH"
                                                 : "DOVEWARDEN_AUDIT_DSN";
  if (!opened && opened.error().kind == db::StoreFailure::Kind::invalid)
    throw util::Fatal(std::string(setting) + ": " + opened.error().message);
  return std::make_unique<audit::DeferredAuditStore>(
      chain, std::move(open),
      opened ? std::move(*opened) : std::unique_ptr<audit::AuditStore>());
}

std::string audit_text(const audit::AuditConfig &config,
                       const std::string &chain) {
  return "of " + config.selection() + " as " + chain + " in " +
         (config.dsn.empty() ? std::string("SQLite")
                             : "PostgreSQL " + config.dsn_text());
}

} // namespace

Daemon::Daemon(config::Config config)
    : m_config(std::move(config)), m_host(util::host_name()),
      m_metrics(std::make_unique<metrics::Metrics>()),
      m_bus(std::make_unique<bus::Bus>(*m_metrics)),
      m_pipeline(std::make_unique<pipeline::Pipeline>(*m_bus, *m_metrics)) {
  m_sources.push_back(std::make_unique<sources::ZmqSource>(
      m_config.zmq, *m_pipeline, *m_metrics,
      [this](const std::string &why) { on_source_failure(why); }));
}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  // nothing at info level until all is set up: a failure is one line
  add_stream_sink();
  add_replication();
  add_webhooks();
  add_audit();
  add_http_source();
  m_bus->start();
  start_status_server();
  start_admin_server();
  if (m_replicator)
    m_replicator->start();
  if (m_deliverer)
    m_deliverer->start();
  if (m_retention)
    m_retention->start();
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
           "; stream ", stream_text(m_config), "; replication ",
           m_store ? replication_text(m_config.replication, *m_store)
                   : std::string("off"),
           "; webhooks ", m_webhook_store ? "on" : "off", "; audit ",
           m_audit_store ? audit_text(m_config.audit, m_audit_store->chain())
                         : std::string("off"),
           "; admin API ", m_admin_text);
}

void Daemon::add_replication() {
  const auto &config = m_config.replication;
  if (!config.enabled())
    return;
  replication::DoveadmClient::Options doveadm;
  doveadm.url = config.doveadm_url;
  doveadm.password = config.doveadm_password;
  doveadm.api_key = config.doveadm_api_key;
  doveadm.timeout = config.doveadm_timeout;
  m_doveadm = replication::DoveadmClient::open(std::move(doveadm));
  m_store = open_store<store::ReplicationStore, store::SqliteStore,
                       store::RedisStore>(config);
  m_replication_metrics =
      std::make_unique<replication::ReplicationMetrics>(m_metrics->registry());

  auto publish = [this](core::Event event) {
    event.message.set("host", m_host);
    m_pipeline->submit(std::move(event));
  };
  replication::Replicator::Options options;
  options.workers = config.workers;
  options.owner = lease_owner(m_host);
  options.full_sync_interval = config.full_sync_interval;
  options.retry_min = config.retry_min;
  options.retry_max = config.retry_max;
  options.sweep_enabled = config.sweep_enabled;
  options.sweep_interval = config.sweep_interval;
  options.sweep_threshold = config.sweep_threshold;
  options.target.destination = config.doveadm_dest;
  options.target.from_userdb = config.doveadm_dest_from_userdb;
  options.userdb.ttl = config.userdb_cache_ttl;
  options.userdb.max_entries = config.userdb_cache_size;
  auto &client = *m_doveadm;
  replication::Replicator::Doveadm doveadm_calls{
      [&client](const std::string &user, const std::string &destination,
                const std::string &state, bool full) {
        return client.sync(user, destination, state, full);
      },
      [&client](const std::string &user) { return client.user_fields(user); },
      [&client](const std::string &mask) { return client.list_users(mask); },
      [&client] { client.cancel(); }};
  m_replicator = std::make_unique<replication::Replicator>(
      std::move(options), *m_store, std::move(doveadm_calls),
      *m_replication_metrics, publish);
  m_feed = std::make_shared<replication::ReplicationFeed>(
      config.trigger, *m_store, *m_replication_metrics,
      [this] { m_replicator->wake(); }, publish);
  m_bus->subscribe(replication::ReplicationFeed::filter(), m_feed,
                   bus::Bus::Options{});
}

void Daemon::add_webhooks() {
  const auto &config = m_config.webhooks;
  if (!config.enabled)
    return;
  m_webhook_store =
      open_store<webhook::WebhookStore, webhook::SqliteWebhookStore,
                 webhook::RedisWebhookStore>(m_config.replication);
  m_webhook_metrics =
      std::make_unique<webhook::WebhookMetrics>(m_metrics->registry());

  webhook::Deliverer::Options options;
  options.owner = lease_owner(m_host) + ":webhook";
  options.schedule = webhook::RetrySchedule(config.retry_schedule);
  options.address_policy = config.address_policy;
  options.max_in_flight = config.max_in_flight;
  options.disable_after = config.disable_after;
  options.retention = config.retention;
  auto publish = [this](core::Event event) {
    event.message.set("host", m_host);
    m_pipeline->submit(std::move(event));
  };
  m_deliverer = std::make_unique<webhook::Deliverer>(
      *m_webhook_store, std::move(options), publish, m_webhook_metrics.get());
  webhook::Dispatcher::Options dispatch;
  dispatch.max_payload = config.max_payload;
  dispatch.first_attempt = config.retry_schedule.front();
  m_dispatcher = std::make_shared<webhook::Dispatcher>(
      *m_webhook_store, dispatch,
      webhook::Dispatcher::Counters{m_webhook_metrics->enqueued,
                                    m_webhook_metrics->too_large},
      [this] { m_deliverer->wake(); });
  m_bus->subscribe(m_dispatcher->filter(), m_dispatcher, bus::Bus::Options{});
}

void Daemon::add_audit() {
  const auto &config = m_config.audit;
  if (!config.enabled)
    return;
  const auto chain = config.origin_for(m_host);
  const auto key_file = config.key_file.empty()
                            ? m_config.replication.store_path + "/audit.key"
                            : config.key_file;
  auto signer = audit::CheckpointSigner::load(key_file, chain);
  if (!signer)
    throw util::Fatal("DOVEWARDEN_AUDIT_KEY_FILE: " + signer.error());
  m_audit_signer =
      std::make_unique<audit::CheckpointSigner>(std::move(*signer));
  m_audit_store = open_audit_store(m_config, chain);
  m_audit_metrics =
      std::make_unique<audit::AuditMetrics>(m_metrics->registry());
  audit::Sign sign = [signer = m_audit_signer.get(),
                      chain](std::uint64_t size, const std::string &hash,
                             std::int64_t time) {
    return signer->sign(chain, size, hash, time);
  };

  audit::AuditWriter::Options options;
  options.selection = config.selection();
  options.batch_max = config.batch_max;
  options.batch_interval = config.batch_interval;
  options.checkpoint_records = config.checkpoint_records;
  options.checkpoint_interval = config.checkpoint_interval;
  options.max_pending = config.queue;
  m_audit_writer = std::make_shared<audit::AuditWriter>(
      *m_audit_store, sign, *m_audit_metrics, std::move(options));
  // the writer sees every plugin event, to find the gaps in each process's
  // seq; its queue drops rather than hold up the other subscribers
  m_bus->subscribe(m_audit_writer->filter(), m_audit_writer,
                   bus::Bus::Options{config.queue, bus::Bus::Overflow::drop});
  audit::Retention::Options retention;
  retention.days = config.retention_days;
  m_retention = std::make_unique<audit::Retention>(
      *m_audit_store, std::move(sign), *m_audit_metrics, retention);
}

util::HttpListener::DropCounter Daemon::drop_counter(const char *listener) {
  if (!m_dropped)
    m_dropped = &prometheus::BuildCounter()
                     .Name("dovewarden_http_connections_dropped_total")
                     .Help("Connections an HTTP listener closed for breaking "
                           "a limit, by listener and reason")
                     .Register(m_metrics->registry());
  auto &family = *m_dropped;
  for (const char *reason : util::HttpListener::k_drop_reasons)
    family.Add({{"listener", listener}, {"reason", reason}});
  return [&family, listener](std::string_view reason) {
    family.Add({{"listener", listener}, {"reason", std::string(reason)}})
        .Increment();
  };
}

void Daemon::add_http_source() {
  if (!m_config.http_addr)
    return;
  sources::HttpEventSource::Options options;
  options.address = *m_config.http_addr;
  options.max_body = m_config.http_max_body;
  options.limits = m_config.listener_limits;
  if (!m_config.http_token_file.empty()) {
    const auto token = util::BearerToken::read_file(m_config.http_token_file);
    if (!token)
      throw util::Fatal("DOVEWARDEN_HTTP_TOKEN_FILE: " + token.error());
    options.token.emplace(*token);
  }
  options.allow_from = m_config.http_allow_from;
  auto feed = m_feed;
  sources::HttpEventSource::Admit admit =
      [feed](const core::Event &event) -> tl::expected<bool, std::string> {
    if (!feed)
      return false;
    return feed->admit(event);
  };
  auto source = std::make_unique<sources::HttpEventSource>(
      std::move(options), *m_pipeline, std::move(admit));
  source->on_drop(drop_counter("http"));
  m_sources.push_back(std::move(source));
}

void Daemon::start_admin_server() {
  if ((!m_store && !m_webhook_store && !m_audit_store) || !m_config.admin_addr)
    return;
  const auto &config = m_config;
  if (config.admin_token.empty() && config.admin_token_file.empty())
    make_token_directory(config.replication.store_path);
  auto token =
      admin::AdminToken::load(config.admin_token, config.admin_token_file,
                              config.replication.store_path);
  if (!token)
    throw util::Fatal("DOVEWARDEN_ADMIN_TOKEN_FILE: " + token.error());
  m_admin_text = "on http://" + listen_text(*config.admin_addr) +
                 " (token from " + token->origin() +
                 (token->generated() ? ", generated now)" : ")");
  m_admin = std::make_unique<admin::AdminServer>(
      *config.admin_addr, std::move(*token), config.listener_limits);
  m_admin->on_drop(drop_counter("admin"));
  m_admin->events().publish_to([this](core::Event event) {
    event.message.set("host", m_host);
    m_pipeline->submit(std::move(event));
  });
  if (m_store) {
    auto &client = *m_doveadm;
    admin::ReplicationApi::UserLister list_users =
        [&client]() -> tl::expected<std::vector<std::string>, std::string> {
      auto users = client.list_users("*");
      if (!users)
        return tl::unexpected(users.error().message);
      return std::move(*users);
    };
    m_replication_api = std::make_unique<admin::ReplicationApi>(
        *m_store, std::move(list_users),
        [this] { return m_replicator->noreplicate(); });
    m_admin->add(*m_replication_api);
  }
  if (m_webhook_store) {
    m_webhook_api = std::make_unique<admin::WebhookApi>(
        *m_webhook_store, m_config.webhooks.address_policy, [this] {
          m_dispatcher->endpoints_changed();
          m_deliverer->endpoints_changed();
        });
    m_admin->add(*m_webhook_api);
  }
  if (m_audit_store) {
    m_audit_api = std::make_unique<admin::AuditApi>(
        *m_audit_store, m_audit_signer->verifier_key(), m_metrics->registry());
    m_admin->add(*m_audit_api);
  }
  m_events_api = std::make_unique<admin::EventsApi>(*m_metrics);
  m_admin->add(*m_events_api);
  const auto started = m_admin->start();
  if (!started)
    throw util::Fatal("DOVEWARDEN_ADMIN_ADDR: " + started.error());
}

void Daemon::add_stream_sink() {
  if (m_config.stream.empty())
    return;
  sinks::StreamSink::Options options;
  options.path = m_config.stream;
  options.flush_interval = m_config.stream_flush_interval;
  options.flush_bytes = m_config.stream_flush_bytes;
  // a reader that went away drops events as a full queue does
  auto &dropped = m_metrics->subscriber("stream").dropped;
  options.on_discard = [&dropped](std::size_t count) {
    dropped.Increment(static_cast<double>(count));
  };
  auto sink = sinks::StreamSink::open(options);
  if (!sink)
    throw util::Fatal("DOVEWARDEN_STREAM: " + sink.error());
  m_stream = *sink;
  m_bus->subscribe(
      m_config.stream_events, m_stream,
      bus::Bus::Options{m_config.stream_queue, m_config.stream_overflow});
}

void Daemon::reopen_stream() {
  if (!m_stream) {
    LOG_INFO("SIGHUP: no stream file to reopen; restart dovewardend to apply "
             "new settings");
    return;
  }
  const auto reopened = m_stream->reopen();
  if (!reopened)
    LOG_ERROR("SIGHUP: ", reopened.error(),
              "; the stream goes on in the old file");
  else if (*reopened)
    LOG_INFO("SIGHUP: reopened the stream file ", m_config.stream);
  else
    LOG_INFO("SIGHUP: the stream goes to stdout, nothing to reopen");
}

void Daemon::start_status_server() {
  if (!m_config.metrics_addr)
    return;
  m_status = std::make_unique<http::StatusServer>(
      *m_config.metrics_addr, *m_metrics, [this] { return readiness(); },
      m_config.listener_limits);
  m_status->on_drop(drop_counter("metrics"));
  const auto started = m_status->start();
  if (!started)
    throw util::Fatal("DOVEWARDEN_METRICS_ADDR: " + started.error());
}

void Daemon::stop() {
  if (m_stopping.exchange(true))
    return;
  for (auto &source : m_sources)
    source->stop();
  if (m_admin)
    m_admin->stop();
  if (m_started)
    publish_internal("daemon.stopped");
  // the bus drains into the feed and the audit writer, which write their
  // last batches to their stores
  m_bus->stop();
  if (m_retention)
    m_retention->stop();
  if (m_replicator)
    m_replicator->stop();
  if (m_deliverer)
    m_deliverer->stop();
  if (m_status)
    m_status->stop();
  if (m_started)
    LOG_INFO("stopped");
}

bool Daemon::ready() const { return readiness().ready; }

http::Readiness Daemon::readiness() const {
  http::Readiness readiness;
  if (!m_started || m_stopping) {
    readiness.detail = m_stopping ? "stopping\n" : "starting\n";
    return readiness;
  }
  readiness.ready = true;
  const auto cannot_write = [&](const char *store, const std::string &why) {
    readiness.ready = false;
    readiness.detail += std::string(store) + ": cannot write: " + why + "\n";
  };
  if (m_store && !m_store->writable())
    cannot_write("replication store", m_store->last_failure());
  if (m_webhook_store && !m_webhook_store->writable())
    cannot_write("webhook store", m_webhook_store->last_failure());
  if (m_audit_store && !m_audit_store->writable())
    cannot_write("audit store", m_audit_store->last_failure());
  for (const auto &source : m_sources) {
    if (!source->ready()) {
      readiness.ready = false;
      readiness.detail += source->describe() + ": not receiving\n";
    }
  }
  if (m_replicator && !m_replicator->doveadm_up())
    readiness.detail += "doveadm: unreachable; syncs wait, users stay queued\n";
  return readiness;
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
