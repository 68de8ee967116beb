// How fast dovewardend delivers webhooks, beside what libcurl alone does on
// the same receiver, and how long an event takes from the bus to a receiver.
//
//   throughput: DELIVERIES pre-enqueued in the outbox (a fresh SQLite store;
//               a redis-server of its own) for ENDPOINTS endpoints on a local
//               receiver, sent by webhook::Deliverer (claim under a lease,
//               sign, POST, judge, finish) with CONCURRENCY requests in
//               flight; the clock runs from start() until the outbox is
//               empty. Beside it, a bare libcurl multi client POSTs the same
//               bodies with the same concurrency to the same receiver:
//               easy handles reused, keep-alive, no store, no signing.
//   latency:    events published on a bus::Bus at RATE a second for a few
//               seconds, with webhook::Dispatcher subscribed as Daemon wires
//               it and the Deliverer running; each event carries its publish
//               time, the receiver notes when its body arrives.
//
// The receiver is a minimal epoll HTTP/1.1 keep-alive responder in this
// process (one thread, "200 OK" with an empty body to every request), so
// that it is not what is measured: cpp-httplib's server holds a pool thread
// per keep-alive connection.
//
//   bench-webhooks [DELIVERIES] [CONCURRENCY] [STORES] [ENDPOINTS] [RATE]
//   (defaults: 20000 32 both 1 300; STORES: sqlite, redis or both)

#include "CpuTime.hpp"
#include "RedisServer.hpp"
#include "bus/Bus.hpp"
#include "core/Event.hpp"
#include "metrics/Metrics.hpp"
#include "util/Logger.hpp"
#include "util/Random.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/Deliverer.hpp"
#include "webhook/Dispatcher.hpp"
#include "webhook/Payload.hpp"
#include "webhook/RedisWebhookStore.hpp"
#include "webhook/SqliteWebhookStore.hpp"
#include "webhook/WebhookMetrics.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace dovewarden;

namespace {

using Steady = std::chrono::steady_clock;

// the Standard Webhooks spec's example secret
constexpr const char *k_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr auto k_give_up = std::chrono::seconds(120);
constexpr auto k_latency_seconds = 4;
constexpr std::string_view k_sent_key = "\"bench_sent\":";

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Steady::now().time_since_epoch())
      .count();
}

double thread_cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// -- the receiver ------------------------------------------------------------

// An HTTP/1.1 keep-alive responder on 127.0.0.1: one epoll thread, every
// request answered "200 OK" with no body; counts requests and hands each
// body to on_body (on its thread).
class Receiver {
public:
  using OnBody = std::function<void(std::string_view body)>;

  Receiver() {
    m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(m_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(m_listener, reinterpret_cast<sockaddr *>(&address), length) !=
            0 ||
        ::listen(m_listener, 1024) != 0 ||
        ::getsockname(m_listener, reinterpret_cast<sockaddr *>(&address),
                      &length) != 0)
      throw std::runtime_error(std::string("receiver: ") +
                               std::strerror(errno));
    m_port = ntohs(address.sin_port);
    m_epoll = ::epoll_create1(0);
    m_stop = ::eventfd(0, EFD_NONBLOCK);
    add(m_listener);
    add(m_stop);
    m_thread = std::thread([this] { run(); });
    pthread_getcpuclockid(m_thread.native_handle(), &m_cpu_clock);
  }
  Receiver(const Receiver &) = delete;
  Receiver &operator=(const Receiver &) = delete;
  ~Receiver() {
    const std::uint64_t one = 1;
    if (::write(m_stop, &one, sizeof one) < 0)
      std::perror("eventfd");
    m_thread.join();
    for (const auto &[fd, connection] : m_connections)
      ::close(fd);
    ::close(m_listener);
    ::close(m_stop);
    ::close(m_epoll);
  }

  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + "/" + path;
  }
  std::uint64_t requests() const { return m_requests; }
  double cpu_seconds() const { return thread_cpu_seconds(m_cpu_clock); }
  void on_body(OnBody handler) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_on_body = std::move(handler);
  }

private:
  struct Connection {
    std::string in;
    std::string out;
  };

  void add(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event);
  }

  void run() {
    epoll_event events[64];
    while (true) {
      const int ready = ::epoll_wait(m_epoll, events, 64, -1);
      for (int i = 0; i < ready; i++) {
        const int fd = events[i].data.fd;
        if (fd == m_stop)
          return;
        if (fd == m_listener)
          accept_all();
        else
          serve(fd, events[i].events);
      }
    }
  }

  void accept_all() {
    int fd;
    while ((fd = ::accept4(m_listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      m_connections[fd];
      add(fd);
    }
  }

  void close_connection(int fd) {
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    m_connections.erase(fd);
  }

  void serve(int fd, std::uint32_t flags) {
    auto &connection = m_connections[fd];
    if (flags & EPOLLIN) {
      char buffer[65536];
      while (true) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got > 0) {
          connection.in.append(buffer, static_cast<std::size_t>(got));
          continue;
        }
        if (got == 0 || errno != EAGAIN) {
          close_connection(fd);
          return;
        }
        break;
      }
      answer(connection);
    }
    if (!connection.out.empty()) {
      const ssize_t sent = ::send(fd, connection.out.data(),
                                  connection.out.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN) {
        close_connection(fd);
        return;
      }
      if (sent > 0)
        connection.out.erase(0, static_cast<std::size_t>(sent));
      epoll_event event{};
      event.events = EPOLLIN | (connection.out.empty() ? 0u : EPOLLOUT);
      event.data.fd = fd;
      ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &event);
    }
  }

  // Takes every complete request from connection.in, answering each.
  void answer(Connection &connection) {
    std::size_t at = 0;
    const std::string &in = connection.in;
    while (true) {
      const auto head_end = in.find("\r\n\r\n", at);
      if (head_end == std::string::npos)
        break;
      const std::size_t length =
          content_length(std::string_view(in).substr(at, head_end - at));
      const std::size_t body_at = head_end + 4;
      if (in.size() - body_at < length)
        break;
      m_requests++;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_on_body)
          m_on_body(std::string_view(in).substr(body_at, length));
      }
      connection.out += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      at = body_at + length;
    }
    connection.in.erase(0, at);
  }

  static std::size_t content_length(std::string_view head) {
    constexpr std::string_view name = "\r\ncontent-length:";
    for (std::size_t i = 0; i + name.size() <= head.size(); i++) {
      if (std::equal(name.begin(), name.end(), head.begin() + i,
                     [](char a, char b) {
                       return a == std::tolower(static_cast<unsigned char>(b));
                     }))
        return std::strtoul(head.data() + i + name.size(), nullptr, 10);
    }
    return 0;
  }

  int m_listener = -1;
  int m_epoll = -1;
  int m_stop = -1;
  int m_port = 0;
  std::thread m_thread;
  clockid_t m_cpu_clock{};
  std::unordered_map<int, Connection> m_connections;
  std::atomic<std::uint64_t> m_requests{0};
  std::mutex m_mutex;
  OnBody m_on_body;
};

// -- the bodies ---------------------------------------------------------------

core::Event make_event(int i) {
  auto event = core::Event::internal("message.new");
  event.message.set("user", "user" + std::to_string(i % 1000) + "@example.org");
  event.message.set("mailbox", std::string("INBOX"));
  event.message.set("uid", std::int64_t{i + 1});
  event.message.set("uidvalidity", std::int64_t{1712345678});
  event.message.set("from", std::string("sender@example.net"));
  event.message.set("subject", std::string("Quarterly report"));
  return event;
}

std::vector<std::string> make_bodies(int count) {
  std::vector<std::string> bodies;
  bodies.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; i++)
    bodies.push_back(webhook::payload(make_event(i)));
  return bodies;
}

// -- the store, timed --------------------------------------------------------

// A WebhookStore that passes every call on and adds up how long claim(),
// finish() and release_owner() took and how often they were called, to say
// where the deliverer's time goes.
class TimedStore final : public webhook::WebhookStore {
public:
  struct Calls {
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> ns{0};
    std::atomic<std::uint64_t> items{0};
    std::atomic<std::uint64_t> max_ns{0};

    void add(std::int64_t started, std::uint64_t added) {
      const auto took = static_cast<std::uint64_t>(steady_ns() - started);
      ns += took;
      count++;
      items += added;
      if (took > max_ns)
        max_ns = took;
    }
  };

  explicit TimedStore(std::unique_ptr<webhook::WebhookStore> store)
      : m_store(std::move(store)) {}

  Calls claim_calls, finish_calls, other_calls;

private:
  template <typename Call>
  auto timed(Calls &calls, std::uint64_t items, Call &&call) {
    const auto started = steady_ns();
    auto result = call();
    calls.add(started, items);
    return result;
  }

public:
  Result<void> do_ping() override { return m_store->ping(); }
  Result<bool> do_put_endpoint(const webhook::Endpoint &endpoint,
                               bool replace) override {
    return m_store->put_endpoint(endpoint, replace);
  }
  Result<std::optional<webhook::Endpoint>>
  do_endpoint(const std::string &id) override {
    return timed(other_calls, 1, [&] { return m_store->endpoint(id); });
  }
  Result<std::vector<webhook::Endpoint>> do_endpoints() override {
    return timed(other_calls, 1, [&] { return m_store->endpoints(); });
  }
  Result<bool> do_remove_endpoint(const std::string &id) override {
    return m_store->remove_endpoint(id);
  }
  Result<std::uint64_t> do_endpoints_version() override {
    return timed(other_calls, 1, [&] { return m_store->endpoints_version(); });
  }
  Result<void>
  do_enqueue(const std::vector<webhook::Delivery> &deliveries) override {
    return m_store->enqueue(deliveries);
  }
  Result<std::vector<webhook::Delivery>>
  do_claim(const std::string &owner, webhook::TimePoint now,
           std::chrono::milliseconds lease, std::size_t max,
           std::size_t per_endpoint) override {
    const auto started = steady_ns();
    auto claimed = m_store->claim(owner, now, lease, max, per_endpoint);
    claim_calls.add(started, claimed ? claimed->size() : 0);
    return claimed;
  }
  Result<bool> do_finish(const webhook::Delivery &delivery,
                         const std::string &owner,
                         const webhook::Attempt &attempt,
                         const webhook::Outcome &outcome) override {
    return timed(finish_calls, 1, [&] {
      return m_store->finish(delivery, owner, attempt, outcome);
    });
  }
  Result<std::vector<bool>>
  do_finish_all(const std::vector<webhook::Finish> &finishes) override {
    return timed(finish_calls, finishes.size(),
                 [&] { return m_store->finish_all(finishes); });
  }
  Result<std::size_t> do_release_owner(const std::string &owner) override {
    return timed(other_calls, 1, [&] { return m_store->release_owner(owner); });
  }
  Result<std::vector<webhook::DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) override {
    return m_store->deliveries(endpoint_id, limit);
  }
  Result<std::optional<webhook::DeliveryRecord>>
  do_delivery(const std::string &id) override {
    return m_store->delivery(id);
  }
  Result<bool> do_redeliver(const std::string &id,
                            webhook::TimePoint now) override {
    return m_store->redeliver(id, now);
  }
  Result<std::size_t> do_recover(const std::string &endpoint_id,
                                 webhook::TimePoint since,
                                 webhook::TimePoint until,
                                 webhook::TimePoint now) override {
    return m_store->recover(endpoint_id, since, until, now);
  }
  Result<std::uint64_t> do_pending() override { return m_store->pending(); }
  Result<std::size_t> do_prune(webhook::TimePoint before,
                               std::size_t) override {
    return timed(other_calls, 1, [&] { return m_store->prune(before); });
  }

private:
  std::unique_ptr<webhook::WebhookStore> m_store;
};

// -- throughput --------------------------------------------------------------

struct Rate {
  double per_second = -1; // negative if it failed
  double client_us = 0;   // CPU of this process but the receiver, per request
  double receiver_us = 0; // CPU of the receiver thread per request
  double server_us = 0;   // CPU of redis-server per request
  double enqueue_per_second = 0;
  // the deliverer's store calls: how many claims, and the wall time in
  // claim(), finish() and the rest, per delivery
  std::uint64_t claims = 0, finishes = 0;
  double claim_us = 0, finish_us = 0, other_us = 0;
  double claim_max_ms = 0, finish_max_ms = 0; // the longest call
};

struct Meter {
  const Receiver &receiver;
  pid_t server;
  double process0 = dovewarden::bench::self_cpu_seconds();
  double receiver0 = receiver.cpu_seconds();
  double server0 = server > 0 ? dovewarden::bench::process_cpu_seconds(server)
                              : 0;
  Steady::time_point started = Steady::now();

  void done(Rate &rate, std::size_t count) const {
    const std::chrono::duration<double> elapsed = Steady::now() - started;
    const auto n = static_cast<double>(count);
    const double receiver_cpu = receiver.cpu_seconds() - receiver0;
    rate.per_second = n / elapsed.count();
    rate.receiver_us = receiver_cpu * 1e6 / n;
    rate.client_us =
        (dovewarden::bench::self_cpu_seconds() - process0 - receiver_cpu) *
        1e6 / n;
    if (server > 0)
      rate.server_us =
          (dovewarden::bench::process_cpu_seconds(server) - server0) * 1e6 / n;
  }
};

std::size_t discard(char *, std::size_t size, std::size_t count, void *) {
  return size * count;
}

Rate bare_curl(const Receiver &receiver, const std::vector<std::string> &bodies,
               std::size_t concurrency, int endpoints) {
  using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
  Rate rate;
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(
      curl_multi_init(), &curl_multi_cleanup);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"),
      &curl_slist_free_all);
  curl_slist_append(headers.get(), "Expect:");
  std::vector<std::string> urls;
  for (int e = 0; e < endpoints; e++)
    urls.push_back(receiver.url("bare" + std::to_string(e)));

  std::vector<Easy> handles;
  std::size_t next = 0;
  auto send = [&](CURL *handle) {
    const std::string &body = bodies[next];
    curl_easy_setopt(handle, CURLOPT_URL, urls[next % urls.size()].c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
    next++;
    curl_multi_add_handle(multi.get(), handle);
  };

  const Meter meter{receiver, -1};
  for (std::size_t i = 0; i < concurrency && next < bodies.size(); i++) {
    handles.emplace_back(curl_easy_init(), &curl_easy_cleanup);
    CURL *handle = handles.back().get();
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
    send(handle);
  }
  std::size_t done = 0;
  std::size_t failed = 0;
  const auto deadline = Steady::now() + k_give_up;
  while (done < bodies.size() && Steady::now() < deadline) {
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int left = 0;
    while (CURLMsg *message = curl_multi_info_read(multi.get(), &left)) {
      if (message->msg != CURLMSG_DONE)
        continue;
      CURL *handle = message->easy_handle;
      long status = 0;
      curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
      if (message->data.result != CURLE_OK || status != 200)
        failed++;
      done++;
      curl_multi_remove_handle(multi.get(), handle);
      if (next < bodies.size())
        send(handle);
    }
    if (done < bodies.size())
      curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  if (done < bodies.size() || failed > 0) {
    std::fprintf(stderr, "bare curl: %zu of %zu done, %zu failed\n", done,
                 bodies.size(), failed);
    return rate;
  }
  meter.done(rate, done);
  return rate;
}

std::vector<webhook::Endpoint> add_endpoints(webhook::WebhookStore &store,
                                             const Receiver &receiver,
                                             int count, std::size_t concurrency,
                                             const std::string &types) {
  std::vector<webhook::Endpoint> endpoints;
  const auto now = webhook::Clock::now();
  for (int e = 0; e < count; e++) {
    webhook::Endpoint endpoint;
    endpoint.id = util::random_id("ep_");
    endpoint.url = receiver.url(endpoint.id);
    endpoint.event_types = {types};
    endpoint.concurrency = static_cast<unsigned>(std::max<std::size_t>(
        1, concurrency / static_cast<std::size_t>(count)));
    endpoint.rate_limit = 0;
    endpoint.secrets = {webhook::Secret{k_secret, {}}};
    endpoint.created = now + std::chrono::milliseconds(e);
    endpoint.updated = endpoint.created;
    if (auto put = store.put_endpoint(endpoint, false); !put || !*put)
      throw std::runtime_error("put_endpoint: " + (put ? std::string("exists")
                                                       : put.error().message));
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

webhook::Deliverer::Options deliverer_options(std::size_t concurrency) {
  webhook::Deliverer::Options options;
  options.owner = "bench:" + std::to_string(::getpid()) + ":webhook";
  options.address_policy = *webhook::AddressPolicy::parse("127.0.0.1/32");
  options.max_in_flight = concurrency;
  return options;
}

Rate dovewarden_deliver(std::unique_ptr<webhook::WebhookStore> opened,
                        const Receiver &receiver,
                        const std::vector<std::string> &bodies,
                        std::size_t concurrency, int endpoint_count,
                        pid_t server = -1) {
  Rate rate;
  TimedStore store(std::move(opened));
  const auto endpoints =
      add_endpoints(store, receiver, endpoint_count, concurrency, "*");
  const auto enqueue_started = Steady::now();
  std::vector<webhook::Delivery> batch;
  const auto now = webhook::Clock::now();
  for (std::size_t i = 0; i < bodies.size(); i++) {
    webhook::Delivery delivery;
    delivery.id = util::sortable_id("msg_");
    delivery.endpoint_id = endpoints[i % endpoints.size()].id;
    delivery.event_type = "message.new";
    delivery.body = bodies[i];
    delivery.created = now;
    delivery.next_attempt = now;
    batch.push_back(std::move(delivery));
    if (batch.size() == 1000 || i + 1 == bodies.size()) {
      if (auto done = store.enqueue(batch); !done) {
        std::fprintf(stderr, "enqueue: %s\n", done.error().message.c_str());
        return rate;
      }
      batch.clear();
    }
  }
  const std::chrono::duration<double> enqueue_time =
      Steady::now() - enqueue_started;
  rate.enqueue_per_second =
      static_cast<double>(bodies.size()) / enqueue_time.count();

  const std::uint64_t received0 = receiver.requests();
  webhook::Deliverer deliverer(store, deliverer_options(concurrency));
  const Meter meter{receiver, server};
  deliverer.start();
  const auto deadline = Steady::now() + k_give_up;
  bool empty = false;
  while (!empty && Steady::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (receiver.requests() - received0 < bodies.size())
      continue;
    const auto pending = store.pending();
    empty = pending && *pending == 0;
  }
  if (!empty) {
    std::fprintf(
        stderr, "dovewarden: %llu of %zu received after %lld s\n",
        static_cast<unsigned long long>(receiver.requests() - received0),
        bodies.size(), static_cast<long long>(k_give_up.count()));
    return rate;
  }
  meter.done(rate, bodies.size());
  deliverer.stop();
  const auto per_delivery = [&](const TimedStore::Calls &calls) {
    return static_cast<double>(calls.ns) / 1e3 /
           static_cast<double>(bodies.size());
  };
  rate.claims = store.claim_calls.count;
  rate.claim_max_ms = static_cast<double>(store.claim_calls.max_ns) / 1e6;
  rate.finish_max_ms = static_cast<double>(store.finish_calls.max_ns) / 1e6;
  rate.claim_us = per_delivery(store.claim_calls);
  rate.finish_us = per_delivery(store.finish_calls);
  rate.finishes = store.finish_calls.count;
  rate.other_us = per_delivery(store.other_calls);
  return rate;
}

// -- latency -----------------------------------------------------------------

struct Latency {
  std::size_t published = 0;
  std::size_t received = 0;
  double p50_ms = -1, p99_ms = -1, max_ms = -1;
};

Latency event_latency(webhook::WebhookStore &store, Receiver &receiver,
                      std::size_t concurrency, int rate_per_second) {
  Latency result;
  std::mutex mutex;
  std::vector<double> latencies;
  receiver.on_body([&](std::string_view body) {
    const auto at = steady_ns();
    const auto key = body.find(k_sent_key);
    if (key == std::string_view::npos)
      return;
    const auto sent =
        std::strtoll(body.data() + key + k_sent_key.size(), nullptr, 10);
    std::lock_guard<std::mutex> lock(mutex);
    latencies.push_back(static_cast<double>(at - sent) / 1e6);
  });
  add_endpoints(store, receiver, 1, concurrency, "message.*");

  metrics::Metrics metrics;
  webhook::WebhookMetrics webhook_metrics(metrics.registry());
  webhook::Deliverer deliverer(store, deliverer_options(concurrency), {},
                               &webhook_metrics);
  auto dispatcher = std::make_shared<webhook::Dispatcher>(
      store, webhook::Dispatcher::Options{},
      webhook::Dispatcher::Counters{webhook_metrics.enqueued,
                                    webhook_metrics.too_large},
      [&deliverer] { deliverer.wake(); });
  bus::Bus bus(metrics);
  bus.subscribe(dispatcher->filter(), dispatcher, bus::Bus::Options{});
  bus.start();
  deliverer.start();

  const std::size_t total =
      static_cast<std::size_t>(rate_per_second) * k_latency_seconds;
  const auto interval =
      std::chrono::nanoseconds(1000000000LL / rate_per_second);
  auto next = Steady::now();
  for (std::size_t i = 0; i < total; i++) {
    std::this_thread::sleep_until(next);
    auto event = make_event(static_cast<int>(i));
    event.message.set("bench_sent", std::int64_t{steady_ns()});
    bus.publish(event);
    next += interval;
  }
  result.published = total;
  const auto deadline = Steady::now() + std::chrono::seconds(30);
  while (Steady::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (latencies.size() >= total)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bus.stop();
  deliverer.stop();
  receiver.on_body({});

  std::sort(latencies.begin(), latencies.end());
  result.received = latencies.size();
  if (!latencies.empty()) {
    const auto at = [&](double q) {
      return latencies[std::min(
          latencies.size() - 1,
          static_cast<std::size_t>(q * static_cast<double>(latencies.size())))];
    };
    result.p50_ms = at(0.50);
    result.p99_ms = at(0.99);
    result.max_ms = latencies.back();
  }
  return result;
}

// -- the stores ---------------------------------------------------------------

struct StoreResult {
  std::string name;
  Rate rate;
  Latency latency;
};

// Runs both measurements on a fresh store each.
template <typename Open>
StoreResult
measure_store(const std::string &name, Open open, Receiver &receiver,
              const std::vector<std::string> &bodies, std::size_t concurrency,
              int endpoints, int events_per_second, pid_t server) {
  StoreResult result{name, {}, {}};
  result.rate = dovewarden_deliver(open(), receiver, bodies, concurrency,
                                   endpoints, server);
  {
    auto store = open();
    result.latency =
        event_latency(*store, receiver, concurrency, events_per_second);
  }
  return result;
}

std::unique_ptr<webhook::WebhookStore>
open_sqlite(const std::string &directory) {
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  auto store = webhook::SqliteWebhookStore::open(directory);
  if (!store)
    throw std::runtime_error(store.error().message);
  return std::move(*store);
}

std::unique_ptr<webhook::WebhookStore> open_redis(test::RedisServer &server) {
  db::RedisConnection::Options options;
  options.port = server.port();
  options.ns = util::random_id("bench");
  auto store = webhook::RedisWebhookStore::connect(options);
  if (!store)
    throw std::runtime_error(store.error().message);
  return std::move(*store);
}

void print_rate(const char *what, const Rate &rate, double bare) {
  char ratio[32] = "-";
  if (bare > 0 && rate.per_second > 0 && &rate.per_second != &bare)
    std::snprintf(ratio, sizeof ratio, "%.0f%%", 100 * rate.per_second / bare);
  char server[32] = "-";
  if (rate.server_us > 0)
    std::snprintf(server, sizeof server, "%.1f", rate.server_us);
  std::printf("%-18s %12.0f %8s %14.1f %14.1f %12s\n", what, rate.per_second,
              ratio, rate.client_us, rate.receiver_us, server);
}

} // namespace

int main(int argc, char **argv) {
  const int deliveries = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int concurrency = argc > 2 ? std::atoi(argv[2]) : 32;
  const std::string stores = argc > 3 ? argv[3] : "both";
  const int endpoints = argc > 4 ? std::atoi(argv[4]) : 1;
  const int events_per_second = argc > 5 ? std::atoi(argv[5]) : 300;
  if (deliveries <= 0 || concurrency <= 0 || endpoints <= 0 ||
      endpoints > concurrency || events_per_second <= 0 ||
      (stores != "sqlite" && stores != "redis" && stores != "both")) {
    std::fprintf(stderr, "usage: bench-webhooks [DELIVERIES] [CONCURRENCY] "
                         "[sqlite|redis|both] [ENDPOINTS] [EVENTS_PER_S]\n");
    return 2;
  }
  util::Logger::set_level(util::LogLevel::warn);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const auto bodies = make_bodies(deliveries);
  Receiver receiver;

  // warm up the receiver and the loopback connections
  bare_curl(receiver,
            std::vector<std::string>(
                bodies.begin(),
                bodies.begin() + std::min<std::size_t>(bodies.size(), 2000)),
            static_cast<std::size_t>(concurrency), endpoints);
  const Rate bare = bare_curl(receiver, bodies,
                              static_cast<std::size_t>(concurrency), endpoints);

  std::vector<StoreResult> results;
  char directory[] = "/tmp/dovewarden-bench-XXXXXX";
  if (::mkdtemp(directory) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  try {
    if (stores != "redis")
      results.push_back(measure_store(
          "sqlite", [&] { return open_sqlite(std::string(directory) + "/s"); },
          receiver, bodies, static_cast<std::size_t>(concurrency), endpoints,
          events_per_second, -1));
  } catch (const std::exception &error) {
    std::fprintf(stderr, "sqlite: %s\n", error.what());
  }
  std::filesystem::remove_all(directory);
  try {
    if (stores != "sqlite") {
      test::RedisServer server;
      results.push_back(measure_store(
          "redis", [&] { return open_redis(server); }, receiver, bodies,
          static_cast<std::size_t>(concurrency), endpoints, events_per_second,
          server.pid()));
    }
  } catch (const std::exception &error) {
    std::fprintf(stderr, "redis: %s\n", error.what());
  }

  std::printf("throughput: %d deliveries of %zu bytes to %d endpoint(s), "
              "%d in flight, receiver on 127.0.0.1\n",
              deliveries, bodies.front().size(), endpoints, concurrency);
  std::printf("%-18s %12s %8s %14s %14s %12s\n", "client", "requests/s",
              "of bare", "client CPU us", "receiver us", "redis us");
  print_rate("bare libcurl", bare, bare.per_second);
  bool ok = bare.per_second > 0;
  for (const auto &result : results) {
    print_rate(("dovewarden " + result.name).c_str(), result.rate,
               bare.per_second);
    ok = ok && result.rate.per_second > 0;
  }
  std::printf("(dovewarden outbox filled beforehand at:");
  for (const auto &result : results)
    std::printf(" %s %.0f/s", result.name.c_str(),
                result.rate.enqueue_per_second);
  std::printf(")\n");
  for (const auto &result : results)
    std::printf("(dovewarden %s store calls: %llu claims, %llu finishes; per "
                "delivery %.1f us in claim, %.1f us in finish, %.1f us in "
                "others; longest claim %.1f ms, finish %.1f ms)\n",
                result.name.c_str(),
                static_cast<unsigned long long>(result.rate.claims),
                static_cast<unsigned long long>(result.rate.finishes),
                result.rate.claim_us, result.rate.finish_us,
                result.rate.other_us, result.rate.claim_max_ms,
                result.rate.finish_max_ms);
  std::printf("\n");

  std::printf("latency: bus publish -> body at the receiver, %d events/s for "
              "%d s\n",
              events_per_second, k_latency_seconds);
  std::printf("%-18s %10s %10s %10s %10s\n", "store", "received", "p50 ms",
              "p99 ms", "max ms");
  for (const auto &result : results) {
    std::printf("%-18s %5zu/%-4zu %10.2f %10.2f %10.2f\n",
                ("dovewarden " + result.name).c_str(), result.latency.received,
                result.latency.published, result.latency.p50_ms,
                result.latency.p99_ms, result.latency.max_ms);
    ok = ok && result.latency.received == result.latency.published;
  }
  curl_global_cleanup();
  return ok ? 0 : 1;
}
