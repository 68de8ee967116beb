#include "EventCollector.hpp"
#include "FreePort.hpp"
#include "MetricValue.hpp"
#include "TestUtil.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "plugin/dovewarden-sink.h"
#include "shared/curve_key.hpp"
#include "sources/ZmqSource.hpp"
#include "util/Fatal.hpp"

#include <boost/test/unit_test.hpp>
#include <zmq.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dw = dovewarden;
using dw::sources::ZmqSource;
using dw::test::TempDir;
using dw::test::wait_until;

namespace {

std::string message(const std::string &user) {
  dw::wire::Encoder encoder;
  encoder.begin("message.new");
  encoder.add("user", user);
  encoder.add("pid", std::int64_t{1}); // what a sender claims
  return std::string(encoder.finish());
}

ZmqSource::Options ipc_options(const TempDir &dir, const char *uids,
                               const char *gids = "") {
  ZmqSource::Options options;
  options.endpoint = "ipc://" + dir.path() + "/events.sock";
  using Kind = dw::sources::PeerPolicy::Kind;
  options.peers = dw::sources::PeerPolicy(
      *dw::sources::PeerPolicy::Ids::parse(uids, Kind::user, false),
      *dw::sources::PeerPolicy::Ids::parse(gids, Kind::group, false));
  return options;
}

struct KeyPair {
  KeyPair() { BOOST_REQUIRE(zmq_curve_keypair(public_key, secret_key) == 0); }
  char public_key[41] = {};
  char secret_key[41] = {};
};

// Returns the 32 bytes of a Z85 key.
std::string key_bytes(const char *z85) {
  std::string bytes(32, '\0');
  BOOST_REQUIRE(zmq_z85_decode(reinterpret_cast<std::uint8_t *>(bytes.data()),
                               z85) != nullptr);
  return bytes;
}

// A bus with a collector behind a pipeline, for the sources under test.
struct Intake {
  Intake() {
    bus.subscribe("*", collector);
    bus.start();
  }
  ~Intake() { bus.stop(); }

  // Returns a started source on endpoint; throws what start() throws.
  std::unique_ptr<ZmqSource> start(ZmqSource::Options options) {
    auto source = std::make_unique<ZmqSource>(std::move(options), pipeline,
                                              metrics, nullptr);
    source->start();
    return source;
  }
  std::unique_ptr<ZmqSource> start(const std::string &endpoint) {
    ZmqSource::Options options;
    options.endpoint = endpoint;
    return start(std::move(options));
  }

  // Returns whether an event of user arrived within a few seconds.
  bool received(const std::string &user) const {
    return wait_until([&] {
      for (const auto &event : collector->events())
        if (event.message.str("user") == user)
          return true;
      return false;
    });
  }

  double metric(const std::string &line) const {
    return dw::test::metric_value(metrics, line).value_or(0);
  }
  double rejected(const std::string &reason) const {
    return metric(R"(dovewarden_events_rejected_total{reason=")" + reason +
                  R"(",source="zmq"})");
  }
  double refused(const std::string &reason) const {
    return metric(R"(dovewarden_peers_refused_total{reason=")" + reason +
                  R"(",source="zmq"})");
  }

  dw::metrics::Metrics metrics;
  dw::bus::Bus bus{metrics};
  dw::pipeline::Pipeline pipeline{bus, metrics};
  std::shared_ptr<dw::test::EventCollector> collector =
      std::make_shared<dw::test::EventCollector>();
};

// A PUSH socket of a mail process, connected to endpoint.
struct Sender {
  explicit Sender(const std::string &endpoint) {
    socket.set(zmq::sockopt::linger, 2000);
    socket.connect(endpoint);
  }
  Sender(const std::string &endpoint, const KeyPair &server,
         const KeyPair &own) {
    socket.set(zmq::sockopt::linger, 2000);
    socket.set(zmq::sockopt::curve_serverkey, server.public_key);
    socket.set(zmq::sockopt::curve_publickey, own.public_key);
    socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
    socket.connect(endpoint);
  }
  void send(const std::string &bytes) {
    socket.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::push};
};

} // namespace

BOOST_AUTO_TEST_SUITE(zmq_source)

BOOST_AUTO_TEST_CASE(receives_what_a_mail_process_sends) {
  TempDir dir;
  Intake intake;
  const auto endpoint = "ipc://" + dir.path() + "/events.sock";
  auto source = intake.start(endpoint);
  Sender sender(endpoint);
  sender.send(message("alice"));
  BOOST_TEST(intake.received("alice"));
}

BOOST_AUTO_TEST_CASE(a_second_daemon_refuses_the_socket_of_a_live_one) {
  TempDir dir;
  Intake first, second;
  const auto path = dir.path() + "/events.sock";
  const auto endpoint = "ipc://" + path;
  auto running = first.start(endpoint);
  try {
    second.start(endpoint);
    BOOST_FAIL("the second source started on a live socket");
  } catch (const dw::util::Fatal &e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("DOVEWARDEN_ZMQ_ENDPOINT") == 0);
    BOOST_TEST(what.find(path) != std::string::npos);
  }
  // the first one still has its socket
  Sender sender(endpoint);
  sender.send(message("bob"));
  BOOST_TEST(first.received("bob"));
}

BOOST_AUTO_TEST_CASE(a_stale_socket_file_is_replaced) {
  TempDir dir;
  Intake intake;
  const auto path = dir.path() + "/events.sock";
  // a socket file nobody listens on, as a killed daemon leaves it
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, path.size());
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<const sockaddr *>(&address),
                       sizeof(address)) == 0);
  ::close(fd);
  BOOST_REQUIRE(std::filesystem::exists(path));

  auto source = intake.start("ipc://" + path);
  Sender sender("ipc://" + path);
  sender.send(message("carol"));
  BOOST_TEST(intake.received("carol"));
}

BOOST_AUTO_TEST_CASE(a_peer_outside_the_allowed_ids_is_refused_and_counted) {
  TempDir dir;
  Intake intake;
  // neither this process's uid nor its gid
  const auto other = std::to_string(::getuid() + 4242);
  auto options = ipc_options(dir, other.c_str(), other.c_str());
  const auto endpoint = options.endpoint;
  auto source = intake.start(std::move(options));
  Sender sender(endpoint);
  sender.send(message("mallory"));
  BOOST_TEST(wait_until([&] { return intake.refused("not_allowed") >= 1; }));
  // the handshake failed: the message has no way in
  source->stop();
  BOOST_TEST(intake.collector->events().empty());
}

BOOST_AUTO_TEST_CASE(a_peer_is_let_in_by_its_uid_or_its_gid) {
  for (const bool by_uid : {true, false}) {
    BOOST_TEST_CONTEXT("by " << (by_uid ? "uid" : "gid")) {
      TempDir dir;
      Intake intake;
      const auto uid = std::to_string(by_uid ? ::getuid() : ::getuid() + 1);
      const auto gid = std::to_string(by_uid ? ::getgid() + 1 : ::getgid());
      auto options = ipc_options(dir, uid.c_str(), gid.c_str());
      const auto endpoint = options.endpoint;
      auto source = intake.start(std::move(options));
      Sender sender(endpoint);
      sender.send(message("alice"));
      BOOST_TEST(intake.received("alice"));
      BOOST_TEST(intake.refused("not_allowed") == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(each_event_carries_its_sender_as_the_kernel_saw_it) {
  TempDir dir;
  Intake intake;
  const auto uid = std::to_string(::getuid());
  auto options = ipc_options(dir, uid.c_str());
  const auto endpoint = options.endpoint;
  auto source = intake.start(std::move(options));
  Sender sender(endpoint);
  sender.send(message("alice"));
  BOOST_REQUIRE(intake.received("alice"));
  const auto event = intake.collector->events().at(0);
  BOOST_REQUIRE(event.sender.has_value());
  BOOST_TEST(event.sender->uid == ::getuid());
  BOOST_TEST(event.sender->gid == ::getgid());
  BOOST_TEST(event.sender->pid == ::getpid());
  // what the sender claims stays what it claims
  BOOST_TEST(event.message.integer("pid") == 1);
}

BOOST_AUTO_TEST_CASE(every_event_of_a_batch_carries_the_sender) {
  TempDir dir;
  Intake intake;
  const auto uid = std::to_string(::getuid());
  auto options = ipc_options(dir, uid.c_str());
  const auto endpoint = options.endpoint;
  auto source = intake.start(std::move(options));
  Sender sender(endpoint);
  // the plugin's batch: one multipart message, then a message of its own
  sender.socket.send(zmq::buffer(message("alice")), zmq::send_flags::sndmore);
  sender.socket.send(zmq::buffer(message("bob")), zmq::send_flags::sndmore);
  sender.send(message("carol"));
  sender.send(message("dave"));
  BOOST_REQUIRE(intake.received("dave"));
  const auto events = intake.collector->events();
  BOOST_REQUIRE(events.size() == 4U);
  for (const auto &event : events) {
    BOOST_REQUIRE(event.sender.has_value());
    BOOST_TEST(event.sender->pid == ::getpid());
  }
}

BOOST_AUTO_TEST_CASE(a_tcp_endpoint_with_curve_takes_only_the_listed_keys) {
  if (!zmq_has("curve"))
    BOOST_FAIL("libzmq lacks CURVE");
  Intake intake;
  const KeyPair server, plugin, stranger;
  ZmqSource::Options options;
  options.endpoint = "tcp://127.0.0.1:" + std::to_string(dw::test::free_port());
  options.curve_secret_key = server.secret_key;
  options.curve_keys = {key_bytes(plugin.public_key)};
  const auto endpoint = options.endpoint;
  auto source = intake.start(std::move(options));

  Sender listed(endpoint, server, plugin);
  listed.send(message("alice"));
  BOOST_TEST(intake.received("alice"));

  Sender unlisted(endpoint, server, stranger);
  unlisted.send(message("mallory"));
  BOOST_TEST(wait_until([&] { return intake.refused("unknown_key") >= 1; }));

  // without CURVE the handshake cannot even begin
  Sender plain(endpoint);
  plain.send(message("eve"));
  listed.send(message("bob"));
  BOOST_TEST(intake.received("bob"));
  source->stop();
  for (const auto &event : intake.collector->events()) {
    BOOST_TEST(event.message.str("user") != "mallory");
    BOOST_TEST(event.message.str("user") != "eve");
    BOOST_TEST(!event.sender.has_value()); // tcp: no kernel credentials
  }
}

BOOST_AUTO_TEST_CASE(the_plugin_sends_with_its_curve_keys) {
  Intake intake;
  const KeyPair server, plugin;
  ZmqSource::Options options;
  options.endpoint = "tcp://127.0.0.1:" + std::to_string(dw::test::free_port());
  options.curve_secret_key = server.secret_key;
  options.curve_keys = {key_bytes(plugin.public_key)};
  auto source = intake.start(options);

  // the server key in hex, as Dovecot's configuration holds it unquoted
  const auto server_hex = dw::curve::hex(key_bytes(server.public_key));
  const dovewarden_sink_settings set{options.endpoint.c_str(),
                                     "mx1",
                                     "imap",
                                     100,
                                     1000,
                                     server_hex.c_str(),
                                     plugin.public_key,
                                     plugin.secret_key};
  const char *warning = nullptr;
  const char *error = nullptr;
  auto *sink = dovewarden_sink_create(&set, &warning, &error);
  BOOST_REQUIRE(sink != nullptr);
  dovewarden_sink_begin(sink, "message.new");
  dovewarden_sink_add_str(sink, "user", "alice");
  dovewarden_sink_queue(sink);
  dovewarden_sink_flush(sink);
  BOOST_TEST(intake.received("alice"));
  dovewarden_sink_destroy(&sink);

  // a key that is not one names its setting
  const dovewarden_sink_settings bad{
      options.endpoint.c_str(), "mx1",   "imap",           100, 0,
      server.public_key,        "short", plugin.secret_key};
  BOOST_TEST(dovewarden_sink_create(&bad, &warning, &error) == nullptr);
  BOOST_TEST(std::string(error).find("dovewarden_curve_public_key") == 0);
}

BOOST_AUTO_TEST_CASE(a_frame_over_the_wire_limit_is_counted_as_rejected) {
  TempDir dir;
  Intake intake;
  const auto endpoint = "ipc://" + dir.path() + "/events.sock";
  auto source = intake.start(endpoint);
  Sender sender(endpoint);
  sender.send(std::string(2 << 20, 'x'));
  sender.send(message("alice"));
  BOOST_TEST(intake.received("alice"));
  BOOST_TEST(intake.rejected("too_large") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
