// How many events a second the daemon takes into its replication store,
// through the code dovewardend runs, built as daemon/Daemon.cpp builds it:
//
//   zmq:  a sender (forked child, ZeroMQ PUSH, multipart messages as the
//         plugin sends them) -> ZmqSource -> Pipeline -> Bus ->
//         ReplicationFeed (coalescing per user, a batch every 10 ms) -> store
//   http: client threads (forked child, keep-alive) POSTing event_exporter
//         JSON -> HttpEventSource -> ReplicationFeed::admit (one enqueue per
//         POST, answered once stored) -> store
//
// each into a fresh SQLite store and into a redis-server of its own
// (--appendonly yes --appendfsync everysec). The Replicator is not started:
// nothing drains the queue, so the figure is ingest alone. The clock runs
// from the first send until the store holds every user at the priority of
// its last event (checked exactly with status()).
//
// As in the daemon with its default settings, the webhook Dispatcher is
// subscribed to every event too, with its outbox in the same store and no
// endpoint registered.
//
//   bench-ingest [EVENTS] [USERS] [HTTP_EVENTS] [WEBHOOKS]   (defaults:
//   200000 20000 60000 1; HTTP_EVENTS 0 leaves the http path out, WEBHOOKS 0
//   the Dispatcher)

#include "CpuTime.hpp"
#include "RedisServer.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "replication/ReplicationFeed.hpp"
#include "replication/ReplicationMetrics.hpp"
#include "replication/Trigger.hpp"
#include "shared/wire.hpp"
#include "sources/HttpEventSource.hpp"
#include "sources/ZmqSource.hpp"
#include "store/RedisStore.hpp"
#include "store/SqliteStore.hpp"
#include "util/Logger.hpp"
#include "webhook/Dispatcher.hpp"
#include "webhook/RedisWebhookStore.hpp"
#include "webhook/SqliteWebhookStore.hpp"
#include "webhook/WebhookMetrics.hpp"

#include <httplib.h>
#include <zmq.hpp>

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace dovewarden;

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int k_frames_per_message = 5; // e.g. a STORE on five messages
constexpr int k_http_clients = 4;       // HttpEventSource's threads
constexpr auto k_poll = std::chrono::milliseconds(2);
constexpr auto k_give_up = std::chrono::seconds(300);

std::string user_name(int u) {
  return "user" + std::to_string(u) + "@example.org";
}

// -- the events ------------------------------------------------------------

using Multipart = std::vector<std::string>;

// events_per_user events for each user, as the plugin encodes them, in
// messages of k_frames_per_message frames; the users take turns in a
// shuffled order. Every event but a user's last one asks for a low-priority
// sync (flags.set, message.read, message.expunge); the last is a
// message.append (high): once every user is queued at high, every event is
// in.
std::vector<Multipart> plugin_messages(int users, int events_per_user) {
  std::vector<int> order(static_cast<std::size_t>(users));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 random(42);
  const auto ts0 = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  static const char *const k_low[] = {"flags.set", "message.read", "flags.set",
                                      "message.expunge"};
  wire::Encoder encoder;
  std::vector<Multipart> messages;
  std::uint64_t n = 0;
  for (int first = 0; first < events_per_user; first += k_frames_per_message) {
    std::shuffle(order.begin(), order.end(), random);
    for (const int u : order) {
      Multipart message;
      const auto user = user_name(u);
      char inst[17];
      std::snprintf(inst, sizeof inst, "%016x", 0x9f3c0000u + u);
      for (int j = first;
           j < std::min(events_per_user, first + k_frames_per_message); j++) {
        const bool last = j == events_per_user - 1;
        encoder.begin(last ? "message.append" : k_low[j % 4]);
        encoder.add("ts", ts0 + n++);
        encoder.add("host", "mx1.example.org");
        encoder.add("svc", "imap");
        encoder.add("pid", static_cast<std::uint64_t>(10000 + u % 30000));
        encoder.add("inst", std::string_view(inst, 16));
        encoder.add("seq", static_cast<std::uint64_t>(j + 1));
        encoder.add("session", "D2bgluJguMp/AAAB");
        encoder.add("user", user);
        encoder.add("ip", "192.0.2.17");
        encoder.add("origin", "client");
        encoder.add("mailbox", "INBOX");
        encoder.add("uid", static_cast<std::uint64_t>(j + 1));
        encoder.add("uidvalidity", std::uint64_t{1795376171});
        if (!last)
          encoder.add("flags", std::vector<std::string_view>{"\\Seen"});
        message.emplace_back(encoder.finish());
      }
      messages.push_back(std::move(message));
    }
  }
  return messages;
}

// One imap_command_finished as Dovecot 2.3's event_exporter posts it
// (tests/fixtures/event-exporter-2.3/): STORE (low), or APPEND (high) for a
// user's last event.
std::string exporter_body(int u, int j, bool last) {
  const char *command = last ? "APPEND" : "STORE";
  const char *arguments =
      last ? "INBOX <105 byte literal>" : "1 +FLAGS (\\\\Seen)";
  char body[1536];
  std::snprintf(
      body, sizeof body,
      R"({"event":"imap_command_finished","hostname":"mx1","start_time":)"
      R"("2026-11-22T19:36:10.%06dZ","end_time":"2026-11-22T19:36:10.%06dZ",)"
      R"("categories":["imap","service:imap"],"fields":{"user":"%s",)"
      R"("local_ip":"192.0.2.1","local_port":993,"remote_ip":"192.0.2.17",)"
      R"("remote_port":51896,"session":"D2bgluJguMp/AAAB","duration":283,)"
      R"("cmd_tag":"A%d","cmd_name":"%s","cmd_input_name":"%s",)"
      R"("cmd_args":"%s","cmd_human_args":"%s","tagged_reply_state":"OK",)"
      R"("tagged_reply":"OK %s completed.","last_run_time":)"
      R"("2026-11-22T19:36:10.453833Z","running_usecs":277,)"
      R"("lock_wait_usecs":49,"bytes_in":18,"bytes_out":35,)"
      R"("reason_code":["imap:cmd_store"],"mailbox":"INBOX"}})",
      j, j + 283, user_name(u).c_str(), j, command, command, arguments,
      arguments, command);
  return body;
}

// -- CPU -------------------------------------------------------------------

using dovewarden::bench::process_cpu_seconds;
using dovewarden::bench::self_cpu_seconds;

// -- the load generator, a forked child --------------------------------------

// What the child reports when it is done.
struct Report {
  double sent_seconds = 0; // first send to last send (or last answer)
  double cpu_seconds = 0;
  long failures = 0; // HTTP answers other than 202
};

// A child process that waits for go(), runs load, and reports.
class Child {
public:
  explicit Child(std::function<Report()> load) {
    int go[2];
    int done[2];
    if (::pipe(go) != 0 || ::pipe(done) != 0)
      throw std::runtime_error("pipe failed");
    m_pid = ::fork();
    if (m_pid < 0)
      throw std::runtime_error("fork failed");
    if (m_pid == 0) {
      ::close(go[1]);
      ::close(done[0]);
      char byte;
      if (::read(go[0], &byte, 1) != 1)
        ::_exit(1);
      const Report report = load();
      const bool written =
          ::write(done[1], &report, sizeof report) == sizeof report;
      ::_exit(written ? 0 : 1);
    }
    ::close(go[0]);
    ::close(done[1]);
    m_go = go[1];
    m_done = done[0];
  }
  Child(const Child &) = delete;
  Child &operator=(const Child &) = delete;
  ~Child() {
    ::close(m_go);
    ::close(m_done);
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }

  void go() {
    const char byte = 'g';
    if (::write(m_go, &byte, 1) != 1)
      throw std::runtime_error("cannot start the child");
  }

  // Waits for the report and the child's exit. Returns false if it failed.
  bool wait(Report &report) {
    const bool read = ::read(m_done, &report, sizeof report) == sizeof report;
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return read && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

private:
  pid_t m_pid = -1;
  int m_go = -1;
  int m_done = -1;
};

Report send_zmq(const std::string &endpoint,
                const std::vector<Multipart> &messages) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::push);
  socket.set(zmq::sockopt::linger, -1);
  socket.connect(endpoint);
  const auto started = SteadyClock::now();
  for (const auto &message : messages) {
    for (std::size_t i = 0; i < message.size(); i++) {
      const auto flags = i + 1 < message.size() ? zmq::send_flags::sndmore
                                                : zmq::send_flags::none;
      socket.send(zmq::const_buffer(message[i].data(), message[i].size()),
                  flags);
    }
  }
  Report report;
  report.sent_seconds =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
  socket.close(); // lingers until the daemon took everything
  context.close();
  report.cpu_seconds = self_cpu_seconds();
  return report;
}

Report post_http(int port,
                 const std::vector<std::vector<std::string>> &bodies) {
  const auto started = SteadyClock::now();
  std::vector<long> failures(bodies.size());
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < bodies.size(); c++) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      // Dovecot writes a request's head and body at once; cpp-httplib's
      // client in two writes, the body held back by Nagle's algorithm
      client.set_tcp_nodelay(true);
      for (const auto &body : bodies[c]) {
        const auto answer = client.Post("/events", body, "application/json");
        if (!answer || answer->status != 202)
          failures[c]++;
      }
    });
  }
  for (auto &thread : threads)
    thread.join();
  Report report;
  report.sent_seconds =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
  report.failures = std::accumulate(failures.begin(), failures.end(), 0L);
  report.cpu_seconds = self_cpu_seconds();
  return report;
}

// -- the daemon's side
// ---------------------------------------------------------

// The objects Daemon::add_replication() builds, minus the Replicator: the
// feed's "stored" callback, which would wake the Replicator's workers, does
// nothing; and the Dispatcher Daemon::add_webhooks() builds if webhooks is
// not null, minus the Deliverer (no endpoint: nothing to deliver).
struct Ingest {
  Ingest(store::ReplicationStore &store, webhook::WebhookStore *webhooks)
      : replication(metrics.registry()), webhook_metrics(metrics.registry()) {
    feed = std::make_shared<replication::ReplicationFeed>(
        replication::Trigger::defaults(), store, replication, [] {},
        [this](core::Event event) { pipeline.submit(std::move(event)); });
    bus.subscribe(replication::ReplicationFeed::filter(), feed,
                  bus::Bus::Options{});
    if (webhooks == nullptr)
      return;
    dispatcher = std::make_shared<webhook::Dispatcher>(
        *webhooks, webhook::Dispatcher::Options{},
        webhook::Dispatcher::Counters{webhook_metrics.enqueued,
                                      webhook_metrics.too_large},
        [] {});
    bus.subscribe(dispatcher->filter(), dispatcher, bus::Bus::Options{});
  }

  // Returns how many events the feed has looked at. Polled every k_poll:
  // reads the feed's counters, not the whole registry (Registry::Collect()
  // would copy every metric each time, on this process's CPU).
  double events_seen() {
    if (m_seen.empty()) {
      auto &family = prometheus::BuildCounter()
                         .Name("dovewarden_replication_events_total")
                         .Register(metrics.registry()); // the feed's, merged
      for (const auto &collected : family.Collect()) {
        for (const auto &metric : collected.metric) {
          std::map<std::string, std::string> labels;
          for (const auto &label : metric.label)
            labels[label.name] = label.value;
          m_seen.push_back(&family.Add(labels));
        }
      }
    }
    double seen = 0;
    for (const auto *counter : m_seen)
      seen += counter->Value();
    return seen;
  }

  metrics::Metrics metrics;
  bus::Bus bus{metrics};
  pipeline::Pipeline pipeline{bus, metrics};
  replication::ReplicationMetrics replication;
  webhook::WebhookMetrics webhook_metrics;
  std::shared_ptr<replication::ReplicationFeed> feed;
  std::shared_ptr<webhook::Dispatcher> dispatcher;

private:
  std::vector<prometheus::Counter *> m_seen; // the feed's event counters
};

// Waits until every one of users is queued at high priority and no other
// user is queued. Returns false on a store error or after k_give_up.
bool wait_for_store(store::ReplicationStore &store, int users) {
  const auto deadline = SteadyClock::now() + k_give_up;
  const auto high = static_cast<std::size_t>(store::Priority::high);
  while (SteadyClock::now() < deadline) {
    const auto status = store.status(store::Clock::now());
    if (!status) {
      std::fprintf(stderr, "%s: %s\n", store.describe().c_str(),
                   status.error().message.c_str());
      return false;
    }
    const auto queued = std::accumulate(status->queued.begin(),
                                        status->queued.end(), std::uint64_t{0});
    if (status->queued[high] == static_cast<std::uint64_t>(users) &&
        queued == static_cast<std::uint64_t>(users))
      return true;
    std::this_thread::sleep_for(k_poll);
  }
  std::fprintf(stderr, "%s: not every user queued after %lld s\n",
               store.describe().c_str(),
               static_cast<long long>(k_give_up.count()));
  return false;
}

struct Rate {
  double per_second = -1; // negative if the run failed
  double sent_per_second = 0;
  double daemon_us = 0; // CPU of this process per event
  double client_us = 0; // CPU of the sender per event
  double server_us = 0; // CPU of redis-server per event
};

struct Run {
  std::string path;
  std::string store;
  Rate rate;
};

// The clock and the CPU counters at one moment.
struct Snapshot {
  static Snapshot take(pid_t server) {
    return {SteadyClock::now(), self_cpu_seconds(),
            server > 0 ? process_cpu_seconds(server) : 0};
  }
  SteadyClock::time_point time;
  double cpu;
  double server_cpu;
};

Rate rate_of(double events, const Snapshot &start, const Snapshot &end,
             const Report &report) {
  Rate rate;
  rate.per_second =
      events / std::chrono::duration<double>(end.time - start.time).count();
  rate.sent_per_second = events / report.sent_seconds;
  rate.daemon_us = (end.cpu - start.cpu) * 1e6 / events;
  rate.client_us = report.cpu_seconds * 1e6 / events;
  rate.server_us = (end.server_cpu - start.server_cpu) * 1e6 / events;
  return rate;
}

Rate measure_zmq(store::ReplicationStore &store,
                 webhook::WebhookStore *webhooks, pid_t server,
                 const std::vector<Multipart> &messages, int users,
                 const std::string &directory) {
  const auto endpoint = "ipc://" + directory + "/events.sock";
  double events = 0;
  for (const auto &message : messages)
    events += static_cast<double>(message.size());
  // forked before this process has threads
  Child sender([&] { return send_zmq(endpoint, messages); });
  Ingest ingest(store, webhooks);
  sources::ZmqSource::Options options;
  options.endpoint = endpoint;
  sources::ZmqSource source(std::move(options), ingest.pipeline, ingest.metrics,
                            [](const std::string &why) {
                              std::fprintf(stderr, "%s\n", why.c_str());
                            });
  ingest.bus.start();
  source.start();

  const auto start = Snapshot::take(server);
  sender.go();
  // cheap until the feed has seen every event, then ask the store
  while (ingest.events_seen() < events &&
         SteadyClock::now() < start.time + k_give_up)
    std::this_thread::sleep_for(k_poll);
  const bool stored = wait_for_store(store, users);
  const auto end = Snapshot::take(server);
  Report report;
  Rate rate;
  if (sender.wait(report) && stored)
    rate = rate_of(events, start, end, report);
  source.stop();
  ingest.bus.stop();
  return rate;
}

Rate measure_http(store::ReplicationStore &store,
                  webhook::WebhookStore *webhooks, pid_t server,
                  const std::vector<std::vector<std::string>> &bodies,
                  int users) {
  double events = 0;
  for (const auto &client : bodies)
    events += static_cast<double>(client.size());
  const int port = test::free_port();
  Child clients([&] { return post_http(port, bodies); });
  Ingest ingest(store, webhooks);
  sources::HttpEventSource::Options options;
  options.address =
      util::ListenAddress{"127.0.0.1", static_cast<std::uint16_t>(port)};
  options.threads = k_http_clients;
  auto feed = ingest.feed;
  sources::HttpEventSource source(
      std::move(options), ingest.pipeline,
      [feed](const core::Event &event) { return feed->admit(event); });
  ingest.bus.start();
  source.start();

  const auto start = Snapshot::take(server);
  clients.go();
  // every answer came after its event was stored: the clients' report is
  // the end; the store is checked after the clock stopped
  Report report;
  const bool reported = clients.wait(report);
  const auto end = Snapshot::take(server);
  Rate rate;
  if (report.failures > 0)
    std::fprintf(stderr, "http: %ld requests were not answered 202\n",
                 report.failures);
  else if (reported && wait_for_store(store, users))
    rate = rate_of(events, start, end, report);
  source.stop();
  ingest.bus.stop();
  return rate;
}

std::string temporary_directory() {
  char name[] = "/tmp/dovewarden-bench-XXXXXX";
  if (::mkdtemp(name) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  return name;
}

// Runs measure against a fresh SQLite store, then a fresh redis-server; the
// webhook store, if with_webhooks, is in the same place, as the daemon has it.
template <typename Measure>
void both_stores(const std::string &path, bool with_webhooks, Measure measure,
                 std::vector<Run> &runs) {
  {
    const auto directory = temporary_directory();
    Rate rate;
    {
      auto sqlite = store::SqliteStore::open(directory);
      auto webhooks = webhook::SqliteWebhookStore::open(directory);
      if (!sqlite)
        std::fprintf(stderr, "%s\n", sqlite.error().message.c_str());
      else if (!webhooks)
        std::fprintf(stderr, "%s\n", webhooks.error().message.c_str());
      else
        rate = measure(**sqlite, with_webhooks ? webhooks->get() : nullptr, -1,
                       directory);
    }
    std::filesystem::remove_all(directory);
    runs.push_back({path, "sqlite", rate});
  }
  Rate rate;
  try {
    test::RedisServer server(
        {"--appendonly", "yes", "--appendfsync", "everysec"});
    store::RedisStore::Options options;
    options.port = server.port();
    auto redis = store::RedisStore::connect(options);
    auto webhooks = webhook::RedisWebhookStore::connect(options);
    const auto directory = temporary_directory();
    if (!redis)
      std::fprintf(stderr, "%s\n", redis.error().message.c_str());
    else if (!webhooks)
      std::fprintf(stderr, "%s\n", webhooks.error().message.c_str());
    else
      rate = measure(**redis, with_webhooks ? webhooks->get() : nullptr,
                     server.pid(), directory);
    std::filesystem::remove_all(directory);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "redis-server: %s\n", error.what());
  }
  runs.push_back({path, "redis", rate});
}

} // namespace

int main(int argc, char **argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int users = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int http_events = argc > 3 ? std::atoi(argv[3]) : 60000;
  const bool with_webhooks = argc > 4 ? std::atoi(argv[4]) != 0 : true;
  if (events < users || users <= 0 ||
      (http_events != 0 && http_events < users)) {
    std::fprintf(stderr,
                 "usage: bench-ingest [EVENTS] [USERS] [HTTP_EVENTS] [WEBHOOKS]"
                 " (each at least USERS; HTTP_EVENTS 0: no http; WEBHOOKS 0:"
                 " no webhook Dispatcher)\n");
    return 2;
  }
  util::Logger::set_level(util::LogLevel::warn);
  const int per_user = events / users;
  const int http_per_user = http_events / users;
  const auto messages = plugin_messages(users, per_user);
  // client c posts for the users u with u % clients == c, in rounds: each
  // user's events arrive in order
  std::vector<std::vector<std::string>> bodies(k_http_clients);
  for (int j = 0; j < http_per_user; j++) {
    for (int u = 0; u < users; u++)
      bodies[static_cast<std::size_t>(u % k_http_clients)].push_back(
          exporter_body(u, j, j == http_per_user - 1));
  }

  std::vector<Run> runs;
  both_stores(
      "zmq", with_webhooks,
      [&](store::ReplicationStore &store, webhook::WebhookStore *webhooks,
          pid_t server, const std::string &directory) {
        return measure_zmq(store, webhooks, server, messages, users, directory);
      },
      runs);
  if (http_per_user > 0)
    both_stores(
        "http", with_webhooks,
        [&](store::ReplicationStore &store, webhook::WebhookStore *webhooks,
            pid_t server, const std::string &) {
          return measure_http(store, webhooks, server, bodies, users);
        },
        runs);

  std::printf("zmq: %d events over %d users (%d each, %d frames per message)"
              " -> ZmqSource -> Pipeline -> Bus -> ReplicationFeed -> store\n",
              per_user * users, users, per_user, k_frames_per_message);
  if (http_per_user > 0)
    std::printf("http: %d events over %d users (%d each), %d keep-alive clients"
                " -> HttpEventSource -> ReplicationFeed::admit -> store\n",
                http_per_user * users, users, http_per_user, k_http_clients);
  std::printf("bus: %s\n", with_webhooks
                               ? "also the webhook Dispatcher (no endpoint)"
                               : "no webhook Dispatcher");
  std::printf("events/s: first send until every user is in the store;"
              " sent/s: the sender's own pace; CPU in us per event\n\n");
  std::printf("%-6s %-8s %10s %10s %12s %12s %12s\n", "path", "store",
              "events/s", "sent/s", "daemon CPU", "sender CPU", "redis CPU");
  bool ok = true;
  for (const auto &run : runs) {
    const auto &rate = run.rate;
    ok = ok && rate.per_second > 0;
    char redis_cpu[16] = "-";
    if (run.store == "redis")
      std::snprintf(redis_cpu, sizeof redis_cpu, "%.2f", rate.server_us);
    std::printf("%-6s %-8s %10.0f %10.0f %12.2f %12.2f %12s\n",
                run.path.c_str(), run.store.c_str(), rate.per_second,
                rate.sent_per_second, rate.daemon_us, rate.client_us,
                redis_cpu);
  }
  return ok ? 0 : 1;
}
