// What the plugin costs a mail process per event: CPU of the calling thread
// and of the whole process, side by side in one run for
// - the plugin's native sink (plugin/dovewarden-zmtp.c: ZMTP on Dovecot's
//   ioloop, no thread), what a mail process runs;
// - the libzmq sink module (plugin/dovewarden-sink.cpp, still used for
//   CURVE), whose process CPU includes ZeroMQ's I/O thread;
// - the floor, an AF_UNIX datagram send.
// A libzmq PULL in a forked child receives, so that its CPU is not counted.
//
//   bench-plugin-cost [EVENTS] [INTERVAL_US]     (defaults: 3000 1000)

#include "bench-plugin-cost-dovecot.h"
#include "dovewarden-sink.h"

#include <zmq.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int k_rounds = 5;
using Clock = std::chrono::steady_clock;

struct Cost {
  double thread_us;
  double process_us;
  double drops;
};

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// How the process waits between two sends: asleep, or in Dovecot's ioloop
// as a mail process does (where the native sink's ios run).
enum class Wait { sleep, ioloop };

// Dovecot's timeouts count in ms: the ioloop runs for what is left,
// rounded to the nearest ms.
void wait_until(Wait wait, Clock::time_point next) {
  if (wait == Wait::ioloop) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        next - Clock::now() + std::chrono::microseconds(500));
    if (left.count() > 0)
      bench_dovecot_run(static_cast<unsigned int>(left.count()));
  }
  std::this_thread::sleep_until(next);
}

// run send() for events, one every interval, where one send() stands for
// per_send events; CPU per send() in µs
Cost measure(int events, std::chrono::microseconds interval,
             const std::function<bool()> &send, int per_send, Wait wait) {
  const double process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  double thread_in_send = 0;
  int drops = 0;
  auto next = Clock::now();
  const int sends = events / per_send;
  for (int i = 0; i < sends; i++) {
    const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    if (!send())
      drops++;
    thread_in_send += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
    next += interval * per_send;
    wait_until(wait, next);
  }
  // let ZeroMQ's I/O thread (or the ioloop) finish what the last sends
  // started
  wait_until(wait, Clock::now() + std::chrono::milliseconds(50));
  const double process = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0;
  return Cost{thread_in_send * 1e6 / sends, process * 1e6 / sends,
              static_cast<double>(drops)};
}

// user, session and ip, as plugin/dovewarden-user.c encodes them
const dovewarden_msgpack *user_keys() {
  static dovewarden_msgpack keys = [] {
    dovewarden_msgpack mp;
    dovewarden_msgpack_init(&mp);
    dovewarden_msgpack_begin_keys(&mp);
    dovewarden_msgpack_add_str(&mp, "user", "alice@example.com");
    dovewarden_msgpack_add_str(&mp, "session", "D2bgluJguMp/AAAB");
    dovewarden_msgpack_add_str(&mp, "ip", "192.0.2.17");
    return mp;
  }();
  return &keys;
}

// A sink behind its API: the native one or the libzmq module.
struct Sink {
  const dovewarden_sink_api *api;
  dovewarden_sink *sink;
  std::uint64_t sent = 0;

  // a typical message.append: the common keys plus mailbox, uid, size;
  // the user's keys encoded once, as the plugin does
  void build_event() {
    api->begin(sink, "message.append");
    api->add_encoded(sink, user_keys());
    api->add_str(sink, "origin", "client");
    api->add_str(sink, "mailbox", "INBOX");
    api->add_int(sink, "uid", 4711);
    api->add_int(sink, "uidvalidity", 1795376171);
    api->add_int(sink, "size", 48213);
  }

  // per_send events as one batch (one ZeroMQ message); false if dropped
  bool send(int per_send) {
    const std::uint64_t dropped = api->dropped(sink);
    for (int i = 0; i < per_send; i++) {
      build_event();
      api->queue(sink);
    }
    api->flush(sink);
    sent += per_send;
    return api->dropped(sink) == dropped;
  }
};

// The libzmq module's functions, linked in (libdovewarden-sink.la).
const dovewarden_sink_api libzmq_sink_api = {
    DOVEWARDEN_SINK_API_VERSION, dovewarden_sink_create,
    dovewarden_sink_destroy,     dovewarden_sink_begin,
    dovewarden_sink_add_str,     dovewarden_sink_add_int,
    dovewarden_sink_add_strv,    dovewarden_sink_add_encoded,
    dovewarden_sink_queue,       dovewarden_sink_flush,
    dovewarden_sink_linger,      dovewarden_sink_batched,
    dovewarden_sink_dropped,     dovewarden_sink_is_foreign};

// The receiver counts the frames it gets and, when stop_fd becomes
// readable, writes the count to count_fd and exits.
pid_t start_receiver(const std::string &zmq_endpoint,
                     const std::string &unix_path, int stop_fd, int count_fd) {
  const pid_t pid = fork();
  if (pid != 0)
    return pid;
  zmq::context_t context(1);
  zmq::socket_t pull(context, zmq::socket_type::pull);
  pull.bind(zmq_endpoint);
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", unix_path.c_str());
  unlink(unix_path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) < 0)
    _exit(1);
  zmq::pollitem_t items[] = {{pull.handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, fd, ZMQ_POLLIN, 0},
                             {nullptr, stop_fd, ZMQ_POLLIN, 0}};
  char buffer[4096];
  std::uint64_t frames = 0;
  for (;;) {
    zmq::poll(items, 3, std::chrono::milliseconds(-1));
    while (items[0].revents & ZMQ_POLLIN) {
      zmq::message_t msg;
      if (!pull.recv(msg, zmq::recv_flags::dontwait))
        break;
      frames++;
    }
    if (items[1].revents & ZMQ_POLLIN)
      (void)recv(fd, buffer, sizeof(buffer), 0);
    if (items[2].revents & ZMQ_POLLIN) {
      if (write(count_fd, &frames, sizeof(frames)) != sizeof(frames))
        _exit(1);
      _exit(0);
    }
  }
}

Cost median(std::vector<Cost> runs) {
  const auto middle = [&](auto member) {
    std::vector<double> values;
    for (const auto &run : runs)
      values.push_back(run.*member);
    std::nth_element(values.begin(), values.begin() + values.size() / 2,
                     values.end());
    return values[values.size() / 2];
  };
  Cost sum{0, 0, 0};
  for (const auto &run : runs)
    sum.drops += run.drops;
  return Cost{middle(&Cost::thread_us), middle(&Cost::process_us), sum.drops};
}

// the loop's own cost is per send(): subtract it, then share what is left
// among the events one send() stands for
void print(const char *name, const Cost &cost, const Cost &base,
           double floor_process, int per_send) {
  const double thread = (cost.thread_us - base.thread_us) / per_send;
  const double process = (cost.process_us - base.process_us) / per_send;
  std::printf("%-40s %8.2f %9.2f %9.2fx %7.0f\n", name, thread, process,
              process / floor_process, cost.drops);
}

} // namespace

int main(int argc, char **argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 3000;
  const std::chrono::microseconds interval(argc > 2 ? std::atoi(argv[2])
                                                    : 1000);
  // as in a mail process: a write to a closed connection is an error, not
  // a signal
  signal(SIGPIPE, SIG_IGN);
  char dir_template[] = "/tmp/dw-bench-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string endpoint = "ipc://" + dir + "/events.sock";
  const std::string unix_path = dir + "/floor.sock";
  int stop_pipe[2], count_pipe[2];
  if (pipe(stop_pipe) < 0 || pipe(count_pipe) < 0)
    return 1;
  const pid_t receiver =
      start_receiver(endpoint, unix_path, stop_pipe[0], count_pipe[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  bench_dovecot_init();
  const dovewarden_sink_settings settings{
      endpoint.c_str(), "mx1", "imap", 1000, 100, nullptr, nullptr, nullptr};
  const auto create = [&](const dovewarden_sink_api *api) {
    const char *warning = nullptr;
    const char *error = nullptr;
    dovewarden_sink *sink = api->create(&settings, &warning, &error);
    if (sink == nullptr) {
      std::fprintf(stderr, "bench: %s\n", error);
      std::exit(1);
    }
    return Sink{api, sink};
  };
  Sink native = create(bench_dovecot_zmtp_sink());
  Sink libzmq = create(&libzmq_sink_api);
  const std::string payload(256, 'x');
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", unix_path.c_str());
  // both connect and greet the receiver
  bench_dovecot_run(200);

  struct Variant {
    const char *name;
    std::function<bool()> send;
    int per_send;
    Wait wait;
    std::vector<Cost> runs;
  };
  std::vector<Variant> variants = {
      {"AF_UNIX datagram send (floor)",
       [&] {
         return sendto(fd, payload.data(), payload.size(), 0,
                       reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) > 0;
       },
       1,
       Wait::sleep,
       {}},
      {"native: encode only",
       [&] {
         native.build_event();
         return true;
       },
       1,
       Wait::ioloop,
       {}},
      {"native: encode + send, 1 per send",
       [&] { return native.send(1); },
       1,
       Wait::ioloop,
       {}},
      // an IMAP STORE: flags.set, message.read and imap_command_finished
      {"native: 3 events per send",
       [&] { return native.send(3); },
       3,
       Wait::ioloop,
       {}},
      {"libzmq module: encode only",
       [&] {
         libzmq.build_event();
         return true;
       },
       1,
       Wait::sleep,
       {}},
      {"libzmq module: encode + send, 1 per send",
       [&] { return libzmq.send(1); },
       1,
       Wait::sleep,
       {}},
      {"libzmq module: 3 events per send",
       [&] { return libzmq.send(3); },
       3,
       Wait::sleep,
       {}},
  };
  // the loop's own cost, for each way of waiting and length of wait: the
  // ioloop's costs more the longer it runs
  const std::size_t measured = variants.size();
  std::vector<std::size_t> loop_of(measured);
  for (std::size_t i = 0; i < measured; i++) {
    const Variant variant = variants[i];
    const auto same = std::find_if(
        variants.begin() + measured, variants.end(), [&](const Variant &v) {
          return v.per_send == variant.per_send && v.wait == variant.wait;
        });
    loop_of[i] = same - variants.begin();
    if (same == variants.end())
      variants.push_back(
          {"loop", [] { return true; }, variant.per_send, variant.wait, {}});
  }
  // variants take turns, so that each sees the machine in the same state
  for (int round = 0; round < k_rounds; round++) {
    for (auto &variant : variants)
      variant.runs.push_back(measure(events / k_rounds, interval, variant.send,
                                     variant.per_send, variant.wait));
  }
  const auto loop = [&](std::size_t i) {
    return median(variants[loop_of[i]].runs);
  };
  const double floor_process =
      median(variants[0].runs).process_us - loop(0).process_us;
  const std::uint64_t dropped =
      native.api->dropped(native.sink) + libzmq.api->dropped(libzmq.sink);
  const std::uint64_t sent = native.sent + libzmq.sent;
  bench_dovecot_run(100);
  std::uint64_t received = 0;
  if (write(stop_pipe[1], "x", 1) != 1 ||
      read(count_pipe[0], &received, sizeof(received)) != sizeof(received))
    return 1;
  waitpid(receiver, nullptr, 0);

  // receiver gone: every send beyond the queue limit is a counted drop
  const auto absent = [&](Sink &sink, Wait wait) {
    return measure(
        events, std::chrono::microseconds(0), [&] { return sink.send(1); }, 1,
        wait);
  };
  const Cost native_absent = absent(native, Wait::ioloop);
  const Cost libzmq_absent = absent(libzmq, Wait::sleep);

  std::printf("events: %d per variant, one every %lld us, in %d turns; CPU "
              "per event in us (median of the turns), the loop's own cost "
              "(asleep between sends, or in the ioloop for the native sink) "
              "subtracted\n\n",
              events, static_cast<long long>(interval.count()), k_rounds);
  std::printf("%-40s %8s %9s %10s %7s\n", "variant", "thread", "process",
              "vs floor", "drops");
  for (std::size_t i = 0; i < measured; i++)
    print(variants[i].name, median(variants[i].runs), loop(i), floor_process,
          variants[i].per_send);
  print("native: daemon absent, queue full", native_absent, Cost{0, 0, 0},
        floor_process, 1);
  print("libzmq module: daemon absent, queue full", libzmq_absent,
        Cost{0, 0, 0}, floor_process, 1);
  std::printf("\nreceiver: %" PRIu64 " frames of %" PRIu64 " events sent, "
              "%" PRIu64 " dropped\n",
              received, sent, dropped);
  native.api->destroy(&native.sink);
  libzmq.api->destroy(&libzmq.sink);
  bench_dovecot_deinit();
  unlink(unix_path.c_str());
  unlink((dir + "/events.sock").c_str());
  rmdir(dir.c_str());
  return received + dropped == sent ? 0 : 1;
}
