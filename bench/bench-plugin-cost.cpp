// What the plugin costs a mail process per event: CPU of the calling thread
// and of the whole process (incl. ZeroMQ's I/O thread), side by side with
// a bare ZeroMQ send and the floor, an AF_UNIX datagram send. A forked child
// receives, so that its CPU is not counted.
//
//   bench-plugin-cost [EVENTS] [INTERVAL_US]     (defaults: 3000 1000)

#include "dovewarden-sink.h"

#include <zmq.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int k_rounds = 5;

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

// run send() for events, one every interval, where one send() stands for
// per_send events; CPU per send() in µs
Cost measure(int events, std::chrono::microseconds interval,
             const std::function<bool()> &send, int per_send = 1) {
  const double process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  double thread_in_send = 0;
  int drops = 0;
  auto next = std::chrono::steady_clock::now();
  const int sends = events / per_send;
  for (int i = 0; i < sends; i++) {
    const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    if (!send())
      drops++;
    thread_in_send += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
    next += interval * per_send;
    std::this_thread::sleep_until(next);
  }
  // let the I/O thread finish what the last sends started
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double process = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0;
  return Cost{thread_in_send * 1e6 / sends, process * 1e6 / sends,
              static_cast<double>(drops)};
}

// a typical message.append: the common keys plus mailbox, uid, size
void build_event(dovewarden_sink *sink) {
  dovewarden_sink_begin(sink, "message.append");
  dovewarden_sink_add_str(sink, "user", "alice@example.com");
  dovewarden_sink_add_str(sink, "session", "D2bgluJguMp/AAAB");
  dovewarden_sink_add_str(sink, "ip", "192.0.2.17");
  dovewarden_sink_add_str(sink, "origin", "client");
  dovewarden_sink_add_str(sink, "mailbox", "INBOX");
  dovewarden_sink_add_int(sink, "uid", 4711);
  dovewarden_sink_add_int(sink, "uidvalidity", 1795376171);
  dovewarden_sink_add_int(sink, "size", 48213);
}

pid_t start_receiver(const std::string &zmq_endpoint,
                     const std::string &unix_path) {
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
                             {nullptr, fd, ZMQ_POLLIN, 0}};
  char buffer[4096];
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[0].revents & ZMQ_POLLIN) {
      zmq::message_t msg;
      (void)pull.recv(msg);
      if (msg.size() == 4 && std::string(msg.data<char>(), 4) == "stop")
        _exit(0);
    }
    if (items[1].revents & ZMQ_POLLIN)
      (void)recv(fd, buffer, sizeof(buffer), 0);
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
           const Cost &bare, int per_send) {
  const double thread = (cost.thread_us - base.thread_us) / per_send;
  const double process = (cost.process_us - base.process_us) / per_send;
  const double bare_process = bare.process_us - base.process_us;
  std::printf("%-34s %10.2f %12.2f %10.2fx %8.0f\n", name, thread, process,
              process / bare_process, cost.drops);
}

} // namespace

int main(int argc, char **argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 3000;
  const std::chrono::microseconds interval(argc > 2 ? std::atoi(argv[2])
                                                    : 1000);
  char dir_template[] = "/tmp/dw-bench-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string endpoint = "ipc://" + dir + "/events.sock";
  const std::string unix_path = dir + "/floor.sock";
  const pid_t receiver = start_receiver(endpoint, unix_path);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  const dovewarden_sink_settings settings{
      endpoint.c_str(), "mx1", "imap", 1000, 100, nullptr, nullptr, nullptr};
  const char *warning = nullptr;
  const char *error = nullptr;
  dovewarden_sink *sink = dovewarden_sink_create(&settings, &warning, &error);
  if (sink == nullptr) {
    std::fprintf(stderr, "bench: %s\n", error);
    return 1;
  }
  // the same bytes for the bare variants
  build_event(sink);
  zmq::context_t context(1);
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::sndhwm, 1000);
  push.connect(endpoint);
  const std::string payload(256, 'x');
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", unix_path.c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  const auto sent_all = [&](std::uint64_t dropped_before) {
    return dovewarden_sink_dropped(sink) == dropped_before;
  };
  struct Variant {
    const char *name;
    std::function<bool()> send;
    int per_send;
    std::vector<Cost> runs;
  };
  std::vector<Variant> variants = {
      {"loop overhead", [] { return true; }, 1, {}},
      {"AF_UNIX datagram send (floor)",
       [&] {
         return sendto(fd, payload.data(), payload.size(), 0,
                       reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) > 0;
       },
       1,
       {}},
      {"bare ZMQ_DONTWAIT send, 256 B",
       [&] {
         return push
             .send(zmq::const_buffer(payload.data(), payload.size()),
                   zmq::send_flags::dontwait)
             .has_value();
       },
       1,
       {}},
      {"plugin: encode only",
       [&] {
         build_event(sink);
         return true;
       },
       1,
       {}},
      {"plugin: encode + send, 1 per send",
       [&] {
         const std::uint64_t dropped = dovewarden_sink_dropped(sink);
         build_event(sink);
         dovewarden_sink_queue(sink);
         dovewarden_sink_flush(sink);
         return sent_all(dropped);
       },
       1,
       {}},
      // an IMAP STORE: flags.set, message.read and imap_command_finished
      {"plugin: 3 events per command",
       [&] {
         const std::uint64_t dropped = dovewarden_sink_dropped(sink);
         for (int i = 0; i < 3; i++) {
           build_event(sink);
           dovewarden_sink_queue(sink);
         }
         dovewarden_sink_flush(sink);
         return sent_all(dropped);
       },
       3,
       {}},
  };
  // variants take turns, so that each sees the machine in the same state
  for (int round = 0; round < k_rounds; round++) {
    for (auto &variant : variants)
      variant.runs.push_back(
          measure(events / k_rounds, interval, variant.send, variant.per_send));
  }
  const Cost base = median(variants[0].runs);
  const Cost bare = median(variants[2].runs);

  push.send(zmq::str_buffer("stop"), zmq::send_flags::none);
  waitpid(receiver, nullptr, 0);
  // receiver gone: every send beyond the queue limit is a counted drop
  const Cost absent = measure(events, std::chrono::microseconds(0), [&] {
    const std::uint64_t dropped = dovewarden_sink_dropped(sink);
    build_event(sink);
    dovewarden_sink_queue(sink);
    dovewarden_sink_flush(sink);
    return sent_all(dropped);
  });

  std::printf("events: %d per variant, one every %lld us, in %d turns; CPU "
              "per event in us (median of the turns), loop overhead "
              "subtracted\n\n",
              events, static_cast<long long>(interval.count()), k_rounds);
  std::printf("%-34s %10s %12s %11s %8s\n", "variant", "thread", "process",
              "vs bare", "drops");
  for (std::size_t i = 1; i < variants.size(); i++)
    print(variants[i].name, median(variants[i].runs), base, bare,
          variants[i].per_send);
  print("plugin: daemon absent, queue full", absent, Cost{0, 0, 0}, bare, 1);
  dovewarden_sink_destroy(&sink);
  unlink(unix_path.c_str());
  rmdir(dir.c_str());
  return 0;
}
