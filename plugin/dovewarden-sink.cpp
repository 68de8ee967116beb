#include "dovewarden-sink.h"

#include "curve_key.hpp"
#include "wire.hpp"

#include <zmq.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

constexpr std::string_view k_ipc_prefix = "ipc://";

// counts the forks this process made, as seen from the child: a sink made
// in an earlier generation belongs to the parent. Cheaper than getpid(),
// a system call, on every event; glibc drops the handler at dlclose.
unsigned int g_fork_generation = 0;

void count_fork() { g_fork_generation++; }

void watch_forks() {
  static bool registered = false;
  if (!registered)
    registered = pthread_atfork(nullptr, nullptr, count_fork) == 0;
}

std::string random_instance_id() {
  std::random_device device;
  const std::uint64_t value =
      (static_cast<std::uint64_t>(device()) << 32) | device();
  char id[17];
  std::snprintf(id, sizeof(id), "%016llx",
                static_cast<unsigned long long>(value));
  return id;
}

// ZeroMQ's threads start with the first socket: configure them before.
// SCHED_BATCH keeps the I/O thread's wake-up from preempting the mail
// process or its client; it still runs whenever a core is free. libzmq
// aborts if it cannot apply a policy, so ask only from the default one.
zmq::context_t make_context() {
  zmq::context_t context(1);
  if (sched_getscheduler(0) == SCHED_OTHER)
    context.set(zmq::ctxopt::thread_sched_policy, SCHED_BATCH);
  return context;
}

std::uint64_t now_usecs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
      .count();
}

// ZeroMQ drops messages to an ipc socket it may not write without a
// word: find out at connect time so that the admin gets one clear line.
std::string ipc_access_problem(std::string_view endpoint) {
  if (endpoint.substr(0, k_ipc_prefix.size()) != k_ipc_prefix)
    return {};
  const std::string path(endpoint.substr(k_ipc_prefix.size()));
  if (faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) == 0 ||
      errno == ENOENT)
    return {};
  const int saved_errno = errno;
  return "ipc socket " + path + " is not writable by uid " +
         std::to_string(geteuid()) + ": " + std::strerror(saved_errno) +
         " (check the daemon's DOVEWARDEN_ZMQ_SOCKET_MODE/GROUP); "
         "events will be lost";
}

} // namespace

struct dovewarden_sink {
  dovewarden_sink(const dovewarden_sink_settings &set)
      : m_context(make_context()), m_socket(m_context, zmq::socket_type::push),
        m_host(set.host), m_service(set.service), m_inst(random_instance_id()),
        m_pid(getpid()), m_generation(g_fork_generation) {
    m_socket.set(zmq::sockopt::sndhwm, static_cast<int>(set.queue_limit));
    m_socket.set(zmq::sockopt::linger, static_cast<int>(set.linger_msecs));
    use_curve(set);
    m_socket.connect(set.endpoint);
  }
  dovewarden_sink(const dovewarden_sink &) = delete;
  dovewarden_sink &operator=(const dovewarden_sink &) = delete;

  zmq::context_t m_context;
  zmq::socket_t m_socket;
  dovewarden::wire::Encoder m_encoder;
  const std::string m_host;
  const std::string m_service;
  const std::string m_inst;
  const pid_t m_pid;
  const unsigned int m_generation;
  std::uint64_t m_seq = 0;
  std::uint64_t m_dropped = 0;

  // the batch's last message is held back: it must go out without
  // ZMQ_SNDMORE, and only a later message or flush() tells which is last
  std::string m_held;
  unsigned int m_batched = 0;
  // the first frame of the current multipart message was accepted: the
  // rest of it cannot be refused
  bool m_open = false;
  // the first frame was refused: drop the rest of this batch too
  bool m_refused = false;
  // building the current message failed: it is not sent
  bool m_broken = false;

  void send_frame(std::string_view bytes, bool more) noexcept;

private:
  void use_curve(const dovewarden_sink_settings &set);
};

// Thrown when a setting's value is what ZeroMQ refused: the message names it.
class SettingError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

void dovewarden_sink::use_curve(const dovewarden_sink_settings &set) {
  const std::pair<const char *, const char *> keys[] = {
      {"dovewarden_curve_server_key", set.curve_server_key},
      {"dovewarden_curve_public_key", set.curve_public_key},
      {"dovewarden_curve_secret_key", set.curve_secret_key}};
  if (set.curve_server_key == nullptr || *set.curve_server_key == '\0')
    return;
  std::string bytes[3];
  for (std::size_t i = 0; i < 3; i++) {
    const auto &[name, text] = keys[i];
    auto key = dovewarden::curve::key_bytes(text == nullptr ? "" : text);
    if (!key)
      throw SettingError(std::string(name) +
                         ": expected a key of 64 hex digits or 40 Z85 "
                         "characters");
    bytes[i] = std::move(*key);
  }
  try {
    m_socket.set(zmq::sockopt::curve_serverkey, bytes[0]);
    m_socket.set(zmq::sockopt::curve_publickey, bytes[1]);
    m_socket.set(zmq::sockopt::curve_secretkey, bytes[2]);
  } catch (const zmq::error_t &e) {
    throw SettingError(std::string("dovewarden_curve_*: ") + e.what());
  }
}

void dovewarden_sink::send_frame(std::string_view bytes, bool more) noexcept {
  if (m_refused) {
    m_dropped++;
  } else {
    zmq::send_flags flags = zmq::send_flags::dontwait;
    if (more)
      flags = flags | zmq::send_flags::sndmore;
    bool sent = false;
    try {
      sent = m_socket.send(zmq::const_buffer(bytes.data(), bytes.size()), flags)
                 .has_value();
    } catch (const zmq::error_t &) {
      // only a terminated context gets here: count it as a drop
    }
    if (sent) {
      m_open = more;
    } else {
      m_dropped++;
      m_refused = !m_open && more;
    }
  }
  if (!more)
    m_refused = false;
}

// Dovecot's C frames cannot unwind: a message whose building failed (no
// memory) is not sent but counted as a drop
template <typename Body> void guarded(dovewarden_sink *sink, Body body) {
  try {
    if (!sink->m_broken)
      body();
  } catch (...) {
    sink->m_broken = true;
  }
}

extern "C" {

dovewarden_sink *dovewarden_sink_create(const dovewarden_sink_settings *set,
                                        const char **warning_r,
                                        const char **error_r) {
  static std::string message;
  *warning_r = nullptr;
  *error_r = nullptr;
  try {
    watch_forks();
    auto *sink = new dovewarden_sink(*set);
    message = ipc_access_problem(set->endpoint);
    if (!message.empty())
      *warning_r = message.c_str();
    return sink;
  } catch (const SettingError &e) {
    message = e.what();
    *error_r = message.c_str();
    return nullptr;
  } catch (const std::exception &e) {
    message =
        std::string("zmq_connect(") + set->endpoint + ") failed: " + e.what();
    *error_r = message.c_str();
    return nullptr;
  }
}

void dovewarden_sink_destroy(dovewarden_sink **sink) {
  // a forked child must not touch its parent's ZeroMQ threads: leak it
  if (!dovewarden_sink_is_foreign(*sink)) {
    dovewarden_sink_flush(*sink);
    delete *sink;
  }
  *sink = nullptr;
}

void dovewarden_sink_begin(dovewarden_sink *sink, const char *type) {
  sink->m_broken = false;
  guarded(sink, [&] {
    auto &encoder = sink->m_encoder;
    encoder.begin(type);
    encoder.add("ts", now_usecs());
    encoder.add("host", sink->m_host);
    encoder.add("svc", sink->m_service);
    encoder.add("pid", static_cast<std::int64_t>(sink->m_pid));
    encoder.add("inst", sink->m_inst);
    encoder.add("seq", ++sink->m_seq);
  });
}

void dovewarden_sink_add_str(dovewarden_sink *sink, const char *key,
                             const char *value) {
  if (value != nullptr)
    guarded(sink, [&] { sink->m_encoder.add(key, std::string_view(value)); });
}

void dovewarden_sink_add_int(dovewarden_sink *sink, const char *key,
                             int64_t value) {
  guarded(sink,
          [&] { sink->m_encoder.add(key, static_cast<std::int64_t>(value)); });
}

void dovewarden_sink_add_strv(dovewarden_sink *sink, const char *key,
                              const char *const *values, unsigned int count) {
  guarded(sink, [&] {
    std::vector<std::string_view> list(values, values + count);
    sink->m_encoder.add(key, list);
  });
}

void dovewarden_sink_add_encoded(dovewarden_sink *sink,
                                 const dovewarden_msgpack *keys) {
  if (keys->failed) {
    sink->m_broken = true;
    return;
  }
  guarded(sink, [&] {
    sink->m_encoder.add_encoded(
        std::string_view(reinterpret_cast<const char *>(keys->data),
                         keys->used),
        keys->count);
  });
}

void dovewarden_sink_queue(dovewarden_sink *sink) {
  guarded(sink, [&] {
    const std::string_view message = sink->m_encoder.finish();
    if (sink->m_batched > 0)
      sink->send_frame(sink->m_held, true);
    sink->m_held.assign(message);
    if (++sink->m_batched == DOVEWARDEN_SINK_MAX_BATCH)
      dovewarden_sink_flush(sink);
  });
  if (sink->m_broken)
    sink->m_dropped++;
}

void dovewarden_sink_flush(dovewarden_sink *sink) {
  if (sink->m_batched == 0)
    return;
  sink->send_frame(sink->m_held, false);
  sink->m_batched = 0;
}

// libzmq lingers in destroy, when the context ends
void dovewarden_sink_linger(dovewarden_sink *sink) {
  dovewarden_sink_flush(sink);
}

unsigned int dovewarden_sink_batched(const dovewarden_sink *sink) {
  return sink->m_batched;
}

uint64_t dovewarden_sink_dropped(const dovewarden_sink *sink) {
  return sink->m_dropped;
}

int dovewarden_sink_is_foreign(const dovewarden_sink *sink) {
  return sink->m_generation != g_fork_generation ? 1 : 0;
}

} // extern "C"
