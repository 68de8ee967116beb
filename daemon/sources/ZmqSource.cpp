#include "sources/ZmqSource.hpp"

#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "shared/curve_key.hpp"
#include "sources/PeerAddress.hpp"
#include "sources/RejectSummary.hpp"
#include "util/Fatal.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <utility>
#include <vector>

namespace dovewarden::sources {

namespace {

constexpr const char *k_ipc_prefix = "ipc://";
// libzmq drops the connection of a peer whose frame is larger than this,
// and with it what the peer sent after, without telling why: frames up to
// it reach wire::decode, which counts those over k_max_message_bytes
constexpr std::int64_t k_transport_max_bytes = std::int64_t{16} << 20;
constexpr const char *k_zap_domain = "dovewarden";
constexpr auto k_refusal_log_interval = std::chrono::minutes(1);
// why judge() refuses a peer
constexpr std::array<const char *, 3> k_refusals{
    "unknown_key", "no_credentials", "not_allowed"};

// how long a recv waits before looking at m_stopping again
constexpr int k_poll_millis = 100;
constexpr mode_t k_directory_mode = 0755;
// events per multipart message the receiving buffer has room for at first
constexpr std::size_t k_batch_hint = 8;

// Returns the ipc socket's file, or "" for tcp and abstract sockets.
std::string ipc_path(const std::string &endpoint) {
  const std::string prefix = k_ipc_prefix;
  if (endpoint.compare(0, prefix.size(), prefix) != 0)
    return {};
  auto path = endpoint.substr(prefix.size());
  if (!path.empty() && path[0] == '@')
    return {}; // Linux abstract namespace: no file
  return path;
}

// Returns the sender of message as the kernel saw it when the sender
// connected, from the "Peer-Address" libzmq gives each message.
std::optional<core::Sender> sender_of(const zmq::message_t &message) {
  const char *address = ::zmq_msg_gets(message.handle(), "Peer-Address");
  if (address == nullptr)
    return std::nullopt;
  return peer_credentials(address);
}

// Returns the public key of secret_key (Z85) in hex, as the plugin's
// dovewarden_curve_server_key takes it.
std::string curve_public_key(const std::string &secret_key) {
  std::array<char, 41> key{};
  if (::zmq_curve_public(key.data(), secret_key.c_str()) != 0)
    return "?";
  const auto bytes = curve::key_bytes(key.data());
  return bytes ? curve::hex(*bytes) : "?";
}

} // namespace

ZmqSource::ZmqSource(Options options, pipeline::Pipeline &pipeline,
                     metrics::Metrics &metrics, FailureHandler on_failure)
    : m_options(std::move(options)), m_pipeline(pipeline), m_metrics(metrics),
      m_on_failure(std::move(on_failure)), m_context(1),
      m_socket(m_context, zmq::socket_type::pull),
      m_refusal_log(k_refusal_log_interval),
      m_ipc(m_options.endpoint.rfind(k_ipc_prefix, 0) == 0) {
  for (const auto reason : wire::k_rejects)
    m_pipeline.expect_rejection(name(), wire::reject_name(reason));
  for (const char *reason : k_refusals)
    m_metrics.expect_refusal(name(), reason);
}

ZmqSource::~ZmqSource() { stop(); }

void ZmqSource::start() {
  bind();
  m_ready = true;
  m_thread = std::thread([this] { run(); });
}

void ZmqSource::bind() {
  const auto path = ipc_path(m_options.endpoint);
  if (!path.empty()) {
    prepare_ipc_directory(path);
    refuse_live_listener(path);
  }
  authenticate();
  m_socket.set(zmq::sockopt::rcvhwm, m_options.rcvhwm);
  m_socket.set(zmq::sockopt::maxmsgsize, k_transport_max_bytes);
  m_socket.set(zmq::sockopt::rcvtimeo, k_poll_millis);
  m_socket.set(zmq::sockopt::linger, 0);
  try {
    m_socket.bind(m_options.endpoint);
  } catch (const zmq::error_t &e) {
    throw util::Fatal("DOVEWARDEN_ZMQ_ENDPOINT: cannot bind " +
                      util::quote(m_options.endpoint) + ": " + e.what());
  }
  m_bound = true;
  if (!path.empty())
    secure_ipc_socket(path);
  m_description = "zmq " + m_socket.get(zmq::sockopt::last_endpoint);
  if (!path.empty())
    m_description +=
        " (mode " + util::octal_mode(m_options.socket_mode) +
        (m_options.peers.open() ? ", any peer" : ", peers by uid and gid") +
        ")";
  if (!m_options.curve_secret_key.empty())
    m_description += " (CURVE, server key " +
                     curve_public_key(m_options.curve_secret_key) + ")";
  LOG_DEBUG("zmq: bound ", m_description);
}

void ZmqSource::authenticate() {
  const bool curve = !m_options.curve_secret_key.empty();
  if (!curve && !(m_ipc && !m_options.peers.open()))
    return; // tcp without CURVE lets anyone in: nothing to judge
  // libzmq lets peers in unasked until a handler listens: start it first
  m_zap = std::make_unique<ZapHandler>(
      m_context,
      [this](const ZapHandler::Request &request) { return judge(request); });
  m_zap->start();
  m_socket.set(zmq::sockopt::zap_domain, k_zap_domain);
  if (curve) {
    m_socket.set(zmq::sockopt::curve_server, true);
    m_socket.set(zmq::sockopt::curve_secretkey, m_options.curve_secret_key);
  }
}

std::optional<std::string>
ZmqSource::judge(const ZapHandler::Request &request) {
  const std::string address(request.address);
  if (!m_options.curve_secret_key.empty()) {
    const auto &keys = m_options.curve_keys;
    if (request.mechanism != "CURVE" ||
        std::find(keys.begin(), keys.end(), request.credential) == keys.end()) {
      refuse("unknown_key", "address " + address,
             "its CURVE public key is not in "
             "DOVEWARDEN_ZMQ_CURVE_CLIENT_KEYS");
      return "unknown_key";
    }
  }
  if (!m_ipc || m_options.peers.open())
    return std::nullopt;
  const auto sender = peer_credentials(request.address);
  if (!sender) {
    refuse("no_credentials", "address " + address,
           "libzmq gave no credentials");
    return "no_credentials";
  }
  if (m_options.peers.allows(sender->uid, sender->gid))
    return std::nullopt;
  refuse(
      "not_allowed",
      "uid " + std::to_string(sender->uid) + " gid " +
          std::to_string(sender->gid) + " pid " + std::to_string(sender->pid),
      "neither is in DOVEWARDEN_ZMQ_ALLOW_UIDS or DOVEWARDEN_ZMQ_ALLOW_GIDS");
  return "not_allowed";
}

void ZmqSource::refuse(const std::string &reason, const std::string &peer,
                       const char *why) {
  m_metrics.peer_refused(name(), reason);
  LOG_DEBUG("zmq: refused a peer (", peer, "): ", why);
  if (!m_refusal_log.allow())
    return;
  const auto held_back = m_refusal_log.take_suppressed();
  // a refused peer reconnects every 100 ms: at most a line a minute
  LOG_WARN("zmq: refused a peer (", peer, "): ", why, "; ", held_back,
           " more refused since the last report");
}

void ZmqSource::prepare_ipc_directory(const std::string &path) const {
  // create the missing parents, outermost first, as mkdir -p
  for (auto slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const auto directory = path.substr(0, slash);
    if (::mkdir(directory.c_str(), k_directory_mode) == 0) {
      LOG_DEBUG("zmq: created ", directory);
    } else if (errno != EEXIST) {
      const int errnum = errno;
      throw util::Fatal("DOVEWARDEN_ZMQ_ENDPOINT: cannot create directory " +
                        util::quote(directory) + ": " +
                        util::error_text(errnum));
    }
  }
}

void ZmqSource::refuse_live_listener(const std::string &path) const {
  // libzmq unlinks whatever is at the path before it binds: a second daemon
  // would take the socket from a running one, which would then receive
  // nothing while it still looks ready
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return; // too long to bind: the bind names the setting
  path.copy(address.sun_path, path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  int result = 0;
  do {
    result = ::connect(fd, reinterpret_cast<const sockaddr *>(&address),
                       sizeof(address));
  } while (result != 0 && errno == EINTR);
  const int errnum = result == 0 ? 0 : errno;
  ::close(fd);
  if (result == 0)
    throw util::Fatal("DOVEWARDEN_ZMQ_ENDPOINT: " + util::quote(path) +
                      " is taken: another process (a running dovewardend?) "
                      "listens on it");
  if (errnum == ECONNREFUSED) {
    // a socket file nobody listens on: left by a daemon that died
    LOG_DEBUG("zmq: removing the stale socket ", path);
    ::unlink(path.c_str());
  }
}

void ZmqSource::secure_ipc_socket(const std::string &path) const {
  // the mail processes run as another uid and connect after dropping
  // privileges; without write access ZeroMQ drops every message silently
  if (::chmod(path.c_str(), m_options.socket_mode) != 0) {
    const int errnum = errno;
    throw util::Fatal("DOVEWARDEN_ZMQ_SOCKET_MODE: chmod " + util::quote(path) +
                      " " + util::octal_mode(m_options.socket_mode) + ": " +
                      util::error_text(errnum));
  }
  if (m_options.socket_group && ::chown(path.c_str(), static_cast<uid_t>(-1),
                                        *m_options.socket_group) != 0) {
    const int errnum = errno;
    throw util::Fatal("DOVEWARDEN_ZMQ_SOCKET_GROUP: chown " +
                      util::quote(path) + " to group " +
                      std::to_string(*m_options.socket_group) + ": " +
                      util::error_text(errnum));
  }
}

void ZmqSource::stop() {
  m_stopping = true;
  if (m_thread.joinable())
    m_thread.join();
  m_ready = false;
  if (m_socket.handle() == nullptr)
    return;
  m_socket.close();
  if (m_zap)
    m_zap->stop();
  // libzmq leaves the file behind; the next bind would replace it anyway
  const auto path = ipc_path(m_options.endpoint);
  if (m_bound && !path.empty())
    ::unlink(path.c_str());
}

bool ZmqSource::receive(zmq::message_t &message, zmq::recv_flags flags) {
  while (true) {
    try {
      return m_socket.recv(message, flags).has_value();
    } catch (const zmq::error_t &e) {
      if (e.num() != EINTR)
        throw;
    }
  }
}

void ZmqSource::run() {
  RejectSummary rejects(name());
  const auto source = name();
  // the frames of one multipart message (the plugin's batch) go to the
  // pipeline together
  std::vector<core::Event> events;
  events.reserve(k_batch_hint);
  // its frames come over one connection: the sender is read at the first
  std::optional<core::Sender> sender;
  bool first_frame = true;
  auto handle = [&](const zmq::message_t &message) {
    if (first_frame && m_ipc)
      sender = sender_of(message);
    first_frame = !message.more();
    auto decoded = wire::decode(message.to_string_view());
    if (decoded) {
      events.push_back(core::Event{std::move(*decoded), source,
                                   std::chrono::system_clock::now(), sender});
    } else {
      m_pipeline.reject(source, decoded.error());
      rejects.record(decoded.error(), message.size());
    }
    if (!message.more() && !events.empty()) {
      m_pipeline.submit(std::exchange(events, {}));
      // the plugin's batches are a few events: one allocation, not four
      events.reserve(k_batch_hint);
    }
  };
  try {
    zmq::message_t message;
    while (!m_stopping) {
      if (receive(message, zmq::recv_flags::none))
        handle(message);
      else
        rejects.tick();
    }
    // what the socket already holds was accepted from the senders' view
    // rcvhwm 0 means unlimited to ZeroMQ, not to the shutdown timeout
    const int cap = m_options.rcvhwm > 0 ? m_options.rcvhwm : 100000;
    int drained = 0;
    while (drained < cap && receive(message, zmq::recv_flags::dontwait)) {
      handle(message);
      drained++;
    }
    if (!events.empty())
      m_pipeline.submit(std::move(events));
    rejects.flush();
    LOG_DEBUG("zmq: stopped receiving; ", drained,
              " queued messages handed on");
  } catch (const std::exception &e) {
    m_ready = false;
    LOG_ERROR("zmq: receiving failed: ", e.what());
    if (m_on_failure)
      m_on_failure(std::string("zmq: receiving failed: ") + e.what());
  }
}

} // namespace dovewarden::sources
