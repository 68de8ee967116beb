// The plugin's C++ core: what a mail process hands to ZeroMQ, and what it
// counts as dropped. A real PULL socket receives.
#include "plugin/dovewarden-sink.h"
#include "shared/wire.hpp"

#include <boost/test/unit_test.hpp>
#include <zmq.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct TempDir {
  TempDir() {
    char name[] = "/tmp/dw-sink-XXXXXX";
    path = mkdtemp(name);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string path;
};

struct Sink {
  Sink(const std::string &endpoint, unsigned int queue_limit) {
    const dovewarden_sink_settings set{endpoint.c_str(), "mx1",  "imap",
                                       queue_limit,      0,      nullptr,
                                       nullptr,          nullptr};
    const char *warning = nullptr;
    const char *error = nullptr;
    sink = dovewarden_sink_create(&set, &warning, &error);
    BOOST_REQUIRE(sink != nullptr);
    // the user's keys, as the plugin adds them: encoded once
    dovewarden_msgpack_init(&keys);
    dovewarden_msgpack_begin_keys(&keys);
    dovewarden_msgpack_add_str(&keys, "user", "alice");
  }
  ~Sink() {
    dovewarden_sink_destroy(&sink);
    dovewarden_msgpack_free(&keys);
  }
  Sink(const Sink &) = delete;
  Sink &operator=(const Sink &) = delete;

  void queue(const char *type) {
    dovewarden_sink_begin(sink, type);
    dovewarden_sink_add_encoded(sink, &keys);
    dovewarden_sink_add_int(sink, "uid", 7);
    dovewarden_sink_queue(sink);
  }

  dovewarden_sink *sink = nullptr;
  dovewarden_msgpack keys{};
};

struct Receiver {
  explicit Receiver(const std::string &endpoint)
      : context(1), pull(context, zmq::socket_type::pull) {
    pull.set(zmq::sockopt::rcvtimeo, 5000);
    pull.bind(endpoint);
  }

  // the frames of the next multipart message, decoded
  std::vector<dovewarden::wire::Message> batch() {
    std::vector<dovewarden::wire::Message> messages;
    do {
      zmq::message_t frame;
      BOOST_REQUIRE(pull.recv(frame));
      auto decoded = dovewarden::wire::decode(frame.to_string_view());
      BOOST_REQUIRE(decoded);
      messages.push_back(*decoded);
    } while (pull.get(zmq::sockopt::rcvmore));
    return messages;
  }

  zmq::context_t context;
  zmq::socket_t pull;
};

} // namespace

BOOST_AUTO_TEST_SUITE(plugin_sink)

BOOST_AUTO_TEST_CASE(a_batch_travels_as_one_multipart_message_in_order) {
  TempDir dir;
  const std::string endpoint = "ipc://" + dir.path + "/events.sock";
  Receiver receiver(endpoint);
  Sink sink(endpoint, 100);
  sink.queue("flags.set");
  sink.queue("message.read");
  sink.queue("imap_command_finished");
  BOOST_TEST(dovewarden_sink_batched(sink.sink) == 3u);
  dovewarden_sink_flush(sink.sink);
  BOOST_TEST(dovewarden_sink_batched(sink.sink) == 0u);

  const auto batch = receiver.batch();
  BOOST_REQUIRE(batch.size() == 3u);
  const std::vector<std::string> types{"flags.set", "message.read",
                                       "imap_command_finished"};
  for (std::size_t i = 0; i < batch.size(); i++) {
    BOOST_TEST(batch[i].type == types[i]);
    BOOST_TEST(batch[i].integer("seq") == static_cast<std::int64_t>(i + 1));
    BOOST_TEST(batch[i].str("host") == "mx1");
    BOOST_TEST(batch[i].str("svc") == "imap");
    BOOST_TEST(batch[i].integer("pid") == getpid());
    BOOST_TEST(batch[i].str("inst").size() == 16u);
    BOOST_TEST(batch[i].str("user") == "alice");
    BOOST_TEST(batch[i].integer("uid") == 7);
  }
  BOOST_TEST(dovewarden_sink_dropped(sink.sink) == 0u);
}

BOOST_AUTO_TEST_CASE(a_full_batch_goes_out_without_a_flush) {
  TempDir dir;
  const std::string endpoint = "ipc://" + dir.path + "/events.sock";
  Receiver receiver(endpoint);
  Sink sink(endpoint, 100);
  for (int i = 0; i < DOVEWARDEN_SINK_MAX_BATCH + 1; i++)
    sink.queue("message.expunge");
  BOOST_TEST(dovewarden_sink_batched(sink.sink) == 1u);
  BOOST_TEST(receiver.batch().size() ==
             static_cast<std::size_t>(DOVEWARDEN_SINK_MAX_BATCH));
}

BOOST_AUTO_TEST_CASE(without_a_daemon_the_queue_fills_then_drops_are_counted) {
  TempDir dir;
  Sink sink("ipc://" + dir.path + "/nobody-listens.sock", 2);
  for (int i = 0; i < 10; i++) {
    sink.queue("message.new");
    dovewarden_sink_flush(sink.sink);
  }
  // ZeroMQ takes queue_limit messages for the connection it keeps trying
  BOOST_TEST(dovewarden_sink_dropped(sink.sink) == 8u);
}

BOOST_AUTO_TEST_CASE(a_refused_batch_is_dropped_whole) {
  TempDir dir;
  Sink sink("ipc://" + dir.path + "/nobody-listens.sock", 1);
  sink.queue("user.login");
  dovewarden_sink_flush(sink.sink);
  BOOST_TEST(dovewarden_sink_dropped(sink.sink) == 0u);
  for (int i = 0; i < 3; i++)
    sink.queue("message.append");
  dovewarden_sink_flush(sink.sink);
  BOOST_TEST(dovewarden_sink_dropped(sink.sink) == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
