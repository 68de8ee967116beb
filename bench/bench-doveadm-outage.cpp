// How much an outage of doveadm slows the intake of POST /events: the real
// dovewardend (embedded SQLite store, default settings), CLIENTS
// keep-alive clients posting imap_command_finished APPENDs (each queues its
// user at high priority) for users drawn at random from USERS. The intake
// is measured for SECONDS with doveadm answering (a stand-in for its HTTP
// API in this process: it knows every user, and answers a sync after
// SYNC_MS, as a doveadm running a short dsync would), then for SECONDS
// with doveadm's port closed. Then doveadm answers again (at once), and the
// program waits until the queue is empty: every user queued meanwhile is
// synced.
//
//   bench-doveadm-outage [SECONDS] [USERS] [CLIENTS] [SYNC_MS]
//   (defaults: 10 20000 4 20)
//
// DW_DOVEWARDEND in the environment runs another dovewardend binary (to
// compare with an earlier build).

#include "FreePort.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string user_name(int u) {
  return "user" + std::to_string(u) + "@example.org";
}

// An APPEND as Dovecot 2.3's event_exporter posts it
// (tests/fixtures/event-exporter-2.3/).
std::string append_body(int u, int tag) {
  char body[1536];
  std::snprintf(
      body, sizeof body,
      R"({"event":"imap_command_finished","hostname":"mx1","start_time":)"
      R"("2026-11-22T19:36:10.000100Z","end_time":"2026-11-22T19:36:10.000383Z",)"
      R"("categories":["imap","service:imap"],"fields":{"user":"%s",)"
      R"("local_ip":"192.0.2.1","local_port":993,"remote_ip":"192.0.2.17",)"
      R"("remote_port":51896,"session":"D2bgluJguMp/AAAB","duration":283,)"
      R"("cmd_tag":"A%d","cmd_name":"APPEND","cmd_input_name":"APPEND",)"
      R"("cmd_args":"INBOX <105 byte literal>","cmd_human_args":)"
      R"("INBOX <105 byte literal>","tagged_reply_state":"OK",)"
      R"("tagged_reply":"OK APPEND completed.","last_run_time":)"
      R"("2026-11-22T19:36:10.453833Z","running_usecs":277,)"
      R"("lock_wait_usecs":49,"bytes_in":18,"bytes_out":35,)"
      R"("reason_code":["imap:cmd_append"],"mailbox":"INBOX"}})",
      user_name(u).c_str(), tag);
  return body;
}

// doveadm's HTTP API as the daemon uses it: every sync succeeds after
// sync_time, every user is known. Listens on port until stopped; its port
// is closed then.
class Doveadm {
public:
  Doveadm(int port, std::chrono::milliseconds sync_time) : m_port(port) {
    m_server.Post(
        "/doveadm/v1", [this, sync_time](const httplib::Request &request,
                                         httplib::Response &response) {
          m_requests++;
          const auto call = nlohmann::json::parse(request.body, nullptr, false);
          if (!call.is_array() || call.empty() || !call[0].is_array() ||
              call[0].size() != 3) {
            response.status = 400;
            return;
          }
          const auto &command = call[0][0];
          const auto &tag = call[0][2];
          nlohmann::json payload;
          if (command == "sync") {
            std::this_thread::sleep_for(sync_time);
            payload = nlohmann::json::array({{{"state", "AQAAAHm4+Jk="}}});
          } else {
            const std::string user = call[0][1].value("userMask", "");
            payload = {{user, {{"uid", "5000"}, {"gid", "5000"}}}};
          }
          response.set_content(
              nlohmann::json::array({{"doveadmResponse", payload, tag}}).dump(),
              "application/json");
        });
    if (!m_server.bind_to_port("127.0.0.1", m_port)) {
      std::fprintf(stderr, "cannot listen on port %d\n", m_port);
      std::exit(1);
    }
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  Doveadm(const Doveadm &) = delete;
  Doveadm &operator=(const Doveadm &) = delete;
  ~Doveadm() {
    m_server.stop();
    m_thread.join();
  }

  long requests() const { return m_requests.load(); }

private:
  int m_port;
  httplib::Server m_server;
  std::thread m_thread;
  std::atomic<long> m_requests{0};
};

// One dovewardend, started with a store of its own and stopped at the end.
class Daemon {
public:
  Daemon(const std::string &directory, int doveadm_port)
      : m_http_port(dovewarden::test::free_port()),
        m_metrics_port(dovewarden::test::free_port()) {
    const std::vector<std::string> settings{
        "DOVEWARDEN_ZMQ_ENDPOINT=ipc://" + directory + "/events.sock",
        "DOVEWARDEN_HTTP_ADDR=127.0.0.1:" + std::to_string(m_http_port),
        "DOVEWARDEN_METRICS_ADDR=127.0.0.1:" + std::to_string(m_metrics_port),
        "DOVEWARDEN_ADMIN_ADDR=",
        "DOVEWARDEN_STORE_PATH=" + directory + "/store",
        "DOVEWARDEN_DOVEADM_URL=http://127.0.0.1:" +
            std::to_string(doveadm_port),
        "DOVEWARDEN_DOVEADM_PASSWORD=bench",
        "DOVEWARDEN_DOVEADM_DEST=tcp:replica.example.org:12345",
        "DOVEWARDEN_LOG_LEVEL=error",
        "PATH=/usr/bin:/bin"};
    m_pid = ::fork();
    if (m_pid == 0) {
      std::vector<char *> env;
      for (const auto &setting : settings)
        env.push_back(const_cast<char *>(setting.c_str()));
      env.push_back(nullptr);
      // DW_DOVEWARDEND in the environment: another build to compare
      const char *path = std::getenv("DW_DOVEWARDEND");
      if (path == nullptr)
        path = DW_DOVEWARDEND;
      char *const argv[] = {const_cast<char *>(path), nullptr};
      ::execve(path, argv, env.data());
      std::perror(path);
      ::_exit(127);
    }
    const auto deadline = SteadyClock::now() + 30s;
    while (status("/readyz") != 200) {
      if (SteadyClock::now() > deadline) {
        std::fprintf(stderr, "dovewardend did not become ready\n");
        std::exit(1);
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  Daemon(const Daemon &) = delete;
  Daemon &operator=(const Daemon &) = delete;
  ~Daemon() {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }

  int http_port() const { return m_http_port; }

  int status(const char *path) const {
    httplib::Client client("127.0.0.1", m_metrics_port);
    const auto answer = client.Get(path);
    return answer ? answer->status : 0;
  }

  // Returns the sum of the samples of metric name whose labels contain
  // labels.
  double metric(const std::string &name, const std::string &labels) const {
    httplib::Client client("127.0.0.1", m_metrics_port);
    const auto answer = client.Get("/metrics");
    if (!answer)
      return -1;
    double sum = 0;
    std::size_t at = 0;
    const std::string &text = answer->body;
    while ((at = text.find("\n" + name + "{", at)) != std::string::npos) {
      const auto space = text.find("} ", at) + 1;
      const auto end = text.find('\n', space);
      if (text.substr(at, space - at).find(labels) != std::string::npos)
        sum += std::strtod(text.substr(space + 1, end - space - 1).c_str(),
                           nullptr);
      at = end;
    }
    return sum;
  }

private:
  pid_t m_pid = -1;
  int m_http_port;
  int m_metrics_port;
};

struct Phase {
  long accepted = 0;
  long refused = 0; // answers other than 202, or none
  double seconds = 0;
  double rate() const { return static_cast<double>(accepted) / seconds; }
};

// clients keep-alive connections posting for `seconds`, each for users drawn
// at random.
Phase post_for(int port, int clients, int users,
               std::chrono::duration<double> seconds) {
  std::vector<long> accepted(clients), refused(clients);
  std::vector<std::thread> threads;
  const auto started = SteadyClock::now();
  const auto until = started + seconds;
  for (int c = 0; c < clients; c++) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::mt19937 random(static_cast<unsigned>(c * 7919 + 17));
      std::uniform_int_distribution<int> user(0, users - 1);
      for (int n = 0; SteadyClock::now() < until; n++) {
        const auto answer = client.Post("/events", append_body(user(random), n),
                                        "application/json");
        if (answer && answer->status == 202)
          accepted[c]++;
        else
          refused[c]++;
      }
    });
  }
  for (auto &thread : threads)
    thread.join();
  Phase phase;
  phase.seconds =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
  for (int c = 0; c < clients; c++) {
    phase.accepted += accepted[c];
    phase.refused += refused[c];
  }
  return phase;
}

void print_phase(const char *name, const Phase &phase) {
  std::printf("%-26s %9ld %7ld %9.0f\n", name, phase.accepted, phase.refused,
              phase.rate());
}

} // namespace

int main(int argc, char **argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int users = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int clients = argc > 3 ? std::atoi(argv[3]) : 4;
  const std::chrono::milliseconds sync_time(argc > 4 ? std::atoi(argv[4]) : 20);
  if (seconds <= 0 || users <= 0 || clients <= 0 || sync_time.count() < 0) {
    std::fprintf(stderr, "usage: bench-doveadm-outage [SECONDS] [USERS] "
                         "[CLIENTS] [SYNC_MS]\n");
    return 2;
  }
  char name[] = "/tmp/dovewarden-bench-outage-XXXXXX";
  if (::mkdtemp(name) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string directory = name;
  const int doveadm_port = dovewarden::test::free_port();

  auto doveadm = std::make_unique<Doveadm>(doveadm_port, sync_time);
  Phase answering, closed;
  double syncs_answering = 0, unreachable = 0, failures_written = 0;
  double drained_seconds = 0, left = 0;
  {
    Daemon daemon(directory, doveadm_port);
    post_for(daemon.http_port(), clients, users, 1s); // warm-up
    answering = post_for(daemon.http_port(), clients, users,
                         std::chrono::seconds(seconds));
    syncs_answering = static_cast<double>(doveadm->requests());

    doveadm.reset(); // its port closed: connections refused
    const char *syncs = "dovewarden_replication_syncs_total";
    const char *requests = "dovewarden_doveadm_requests_total";
    const auto not_ok = [&] {
      return daemon.metric(requests, "") -
             daemon.metric(requests, "result=\"ok\"");
    };
    const double failed_before = daemon.metric(syncs, "result=\"failed\"");
    const double refused_before = not_ok();
    closed = post_for(daemon.http_port(), clients, users,
                      std::chrono::seconds(seconds));
    unreachable = not_ok() - refused_before;
    failures_written =
        daemon.metric(syncs, "result=\"failed\"") - failed_before;

    // back, answering at once: what counts now is that nobody is left
    doveadm = std::make_unique<Doveadm>(doveadm_port, 0ms);
    const auto back = SteadyClock::now();
    while ((left = daemon.metric("dovewarden_replication_queue", "")) != 0 &&
           SteadyClock::now() - back < 300s)
      std::this_thread::sleep_for(100ms);
    drained_seconds =
        std::chrono::duration<double>(SteadyClock::now() - back).count();
  }
  std::filesystem::remove_all(directory);

  std::printf("POST /events intake, %d keep-alive clients, APPENDs over %d "
              "users, embedded store, %d s each; doveadm syncs take %d ms\n\n",
              clients, users, seconds, static_cast<int>(sync_time.count()));
  std::printf("%-26s %9s %7s %9s\n", "doveadm", "accepted", "refused", "req/s");
  print_phase("answering", answering);
  print_phase("port closed", closed);
  std::printf("\nratio port closed / answering: %.3f\n",
              closed.rate() / answering.rate());
  std::printf("doveadm requests answered while up: %.0f; failed while "
              "closed: %.0f; failed syncs recorded while closed: %.0f\n",
              syncs_answering, unreachable, failures_written);
  std::printf("doveadm back, answering at once: queue empty after %.1f s "
              "(%.0f users left)\n",
              drained_seconds, left);
  return left == 0 ? 0 : 1;
}
