#include "TestUtil.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
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

class Collector : public dw::bus::Subscriber {
public:
  std::string name() const override { return "collector"; }
  void handle(const dw::core::Event &event) override {
    std::lock_guard lock(m_mutex);
    m_events.push_back(event);
  }
  std::vector<dw::core::Event> events() const {
    std::lock_guard lock(m_mutex);
    return m_events;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<dw::core::Event> m_events;
};

std::string message(const std::string &user) {
  dw::wire::Encoder encoder;
  encoder.begin("message.new");
  encoder.add("user", user);
  encoder.add("pid", std::int64_t{1}); // what a sender claims
  return std::string(encoder.finish());
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
    auto source =
        std::make_unique<ZmqSource>(std::move(options), pipeline, nullptr);
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
    const auto text = metrics.serialize();
    const auto at = text.find("\n" + line + " ");
    return at == std::string::npos
               ? 0
               : std::stod(text.substr(at + line.size() + 2));
  }
  double rejected(const std::string &reason) const {
    return metric(R"(dovewarden_events_rejected_total{reason=")" + reason +
                  R"(",source="zmq"})");
  }

  dw::metrics::Metrics metrics;
  dw::bus::Bus bus{metrics};
  dw::pipeline::Pipeline pipeline{bus, metrics};
  std::shared_ptr<Collector> collector = std::make_shared<Collector>();
};

// A PUSH socket of a mail process, connected to endpoint.
struct Sender {
  explicit Sender(const std::string &endpoint) {
    socket.set(zmq::sockopt::linger, 2000);
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
