#include "replication/DoveadmServerClient.hpp"

#include "config/ConfigError.hpp"
#include "util/Base64.hpp"
#include "util/Fd.hpp"
#include "util/ListenAddress.hpp"
#include "util/System.hpp"

#include <nlohmann/json.hpp>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace dovewarden::replication {

namespace {

using Clock = std::chrono::steady_clock;
using Kind = DoveadmFailure::Kind;

constexpr const char *k_setting = "DOVEWARDEN_DOVEADM_URL";
// the replicator's handshake: major version 1, minor 0 (no multiplexed log)
constexpr const char *k_handshake = "VERSION\tdoveadm-server\t1\t0\n";
constexpr const char *k_lock_timeout_secs = "30"; // the replicator's `-l 30`
constexpr std::size_t k_max_answer = 64 * 1024 * 1024;
constexpr auto k_cancel_check = std::chrono::milliseconds(100);

DoveadmFailure failure(Kind kind, std::string message) {
  return doveadm_failure(kind, std::move(message));
}

// doveadm's str_append_tabescaped() and its inverse
std::string tab_escaped(const std::string &text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '\001':
      escaped += "\0011";
      break;
    case '\t':
      escaped += "\001t";
      break;
    case '\r':
      escaped += "\001r";
      break;
    case '\n':
      escaped += "\001n";
      break;
    default:
      escaped += c;
    }
  }
  return escaped;
}

std::string tab_unescaped(std::string_view text) {
  std::string plain;
  plain.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); i++) {
    if (text[i] != '\001' || i + 1 == text.size()) {
      plain += text[i];
      continue;
    }
    switch (text[++i]) {
    case '0':
      plain += '\0';
      break;
    case 't':
      plain += '\t';
      break;
    case 'r':
      plain += '\r';
      break;
    case 'n':
      plain += '\n';
      break;
    default: // '1' and anything doveadm would not send
      plain += '\001';
      break;
    }
  }
  return plain;
}

// Every value doveadm printed is followed by a tab; output it wrote
// unformatted (the user list's JSON) is one value.
std::vector<std::string> values_of(std::string_view line) {
  std::vector<std::string> values;
  while (!line.empty()) {
    const auto tab = line.find('\t');
    values.push_back(tab_unescaped(line.substr(0, tab)));
    if (tab == std::string_view::npos)
      break;
    line.remove_prefix(tab + 1);
  }
  return values;
}

// One connection to doveadm's server socket, non-blocking, every wait
// bounded by the request's deadline and cut short by cancel().
class Connection {
public:
  Connection(const std::atomic<bool> &cancelled, Clock::time_point deadline,
             std::string where)
      : m_cancelled(cancelled), m_deadline(deadline),
        m_where(std::move(where)) {}

  tl::expected<void, DoveadmFailure> open_unix(const std::string &path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path))
      return tl::unexpected(
          failure(Kind::temporary, m_where + ": the path is too long"));
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    m_fd.reset(
        ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!m_fd ||
        ::connect(m_fd.get(), reinterpret_cast<const sockaddr *>(&address),
                  sizeof(address)) != 0)
      return tl::unexpected(system_failure("cannot connect"));
    return {};
  }

  tl::expected<void, DoveadmFailure> open_tcp(const std::string &host,
                                              const std::string &port,
                                              Clock::time_point connected_by) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    const int resolved =
        ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (resolved != 0)
      return tl::unexpected(
          failure(Kind::temporary, m_where + ": " + ::gai_strerror(resolved)));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(
        found, &::freeaddrinfo);
    tl::expected<void, DoveadmFailure> result;
    for (const addrinfo *a = found; a != nullptr; a = a->ai_next) {
      result = connect_to(*a, std::min(connected_by, m_deadline));
      if (result || m_cancelled)
        break;
    }
    return result;
  }

  tl::expected<void, DoveadmFailure> send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent =
          ::send(m_fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (sent > 0) {
        data.remove_prefix(static_cast<std::size_t>(sent));
        continue;
      }
      if (errno != EAGAIN && errno != EINTR)
        return tl::unexpected(system_failure("cannot send"));
      if (auto ready = wait(POLLOUT, m_deadline); !ready)
        return ready;
    }
    return {};
  }

  // Returns the next line without its '\n'.
  tl::expected<std::string, DoveadmFailure> line() {
    for (;;) {
      const auto end = m_buffer.find('\n', m_scanned);
      if (end != std::string::npos) {
        std::string line = m_buffer.substr(0, end);
        m_buffer.erase(0, end + 1);
        m_scanned = 0;
        return line;
      }
      m_scanned = m_buffer.size();
      if (m_buffer.size() > k_max_answer)
        return tl::unexpected(failure(
            Kind::protocol, m_where + ": an answer larger than " +
                                std::to_string(k_max_answer) + " bytes"));
      char chunk[16384];
      const ssize_t got = ::recv(m_fd.get(), chunk, sizeof(chunk), 0);
      if (got > 0) {
        m_buffer.append(chunk, static_cast<std::size_t>(got));
      } else if (got == 0) {
        // doveadm's process ends this way when dsync cannot reach the
        // destination
        return tl::unexpected(failure(
            Kind::temporary, m_where + ": doveadm closed the connection "
                                       "without an answer (is the "
                                       "destination down?)"));
      } else if (errno != EAGAIN && errno != EINTR) {
        return tl::unexpected(system_failure("cannot read"));
      } else if (auto ready = wait(POLLIN, m_deadline); !ready) {
        return tl::unexpected(ready.error());
      }
    }
  }

private:
  tl::expected<void, DoveadmFailure> connect_to(const addrinfo &address,
                                                Clock::time_point by) {
    m_fd.reset(::socket(address.ai_family,
                        address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address.ai_protocol));
    if (!m_fd)
      return tl::unexpected(system_failure("cannot make a socket"));
    if (::connect(m_fd.get(), address.ai_addr, address.ai_addrlen) == 0)
      return {};
    if (errno != EINPROGRESS)
      return tl::unexpected(system_failure("cannot connect"));
    if (auto ready = wait(POLLOUT, by); !ready)
      return ready;
    int error = 0;
    socklen_t size = sizeof(error);
    ::getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      errno = error;
      return tl::unexpected(system_failure("cannot connect"));
    }
    return {};
  }

  tl::expected<void, DoveadmFailure> wait(short events,
                                          Clock::time_point until) {
    for (;;) {
      if (m_cancelled)
        return tl::unexpected(
            failure(Kind::temporary, "doveadm request cancelled"));
      const auto left = until - Clock::now();
      if (left <= Clock::duration::zero())
        return tl::unexpected(
            failure(Kind::temporary, m_where + ": doveadm request timed out"));
      pollfd watched{m_fd.get(), events, 0};
      const auto slice = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::min<Clock::duration>(left, k_cancel_check));
      const int ready =
          ::poll(&watched, 1, static_cast<int>(slice.count()) + 1);
      if (ready > 0)
        return {};
      if (ready < 0 && errno != EINTR)
        return tl::unexpected(system_failure("poll"));
    }
  }

  DoveadmFailure system_failure(const char *what) const {
    return failure(Kind::temporary,
                   m_where + ": " + what + ": " + util::error_text(errno));
  }

  const std::atomic<bool> &m_cancelled;
  Clock::time_point m_deadline;
  std::string m_where;
  util::Fd m_fd;
  std::string m_buffer;
  std::size_t m_scanned = 0;
};

DoveadmFailure answer_failure(const char *command,
                              const DoveadmServerClient::Answer &answer) {
  if (const int code = exit_code_named(answer.error); code != 0)
    return exit_failure(command, code);
  return failure(
      Kind::temporary,
      std::string("doveadm ") + command + " failed" +
          (answer.error.empty() ? std::string() : ": " + answer.error));
}

DoveadmFailure shape_failure(const char *command, const std::string &what) {
  return failure(Kind::protocol, std::string("doveadm ") + command +
                                     ": unexpected answer: " + what);
}

} // namespace

DoveadmServerClient::DoveadmServerClient(Options options)
    : m_options(std::move(options)) {
  const std::string &url = m_options.url;
  if (url.rfind("unix:", 0) == 0) {
    m_path = url.substr(5);
    if (m_path.empty())
      throw config::ConfigError(k_setting, "unix: needs the socket's path, "
                                           "e.g. unix:/run/dovecot/"
                                           "doveadm-server");
  } else if (url.rfind("tcp:", 0) == 0) {
    const auto address = util::ListenAddress::parse(url.substr(4));
    if (!address || address->host.empty())
      throw config::ConfigError(k_setting, "expected tcp:HOST:PORT, e.g. "
                                           "tcp:127.0.0.1:12345");
    m_host = address->host;
    m_port = std::to_string(address->port);
    if (m_options.password.empty())
      throw config::ConfigError("DOVEWARDEN_DOVEADM_PASSWORD",
                                "a doveadm tcp listener asks for "
                                "doveadm_password");
  } else {
    throw config::ConfigError(k_setting, "expected unix:PATH or tcp:HOST:PORT");
  }
  if (!m_options.api_key.empty())
    throw config::ConfigError("DOVEWARDEN_DOVEADM_API_KEY",
                              "doveadm's own protocol has no API keys: use "
                              "DOVEWARDEN_DOVEADM_PASSWORD or the HTTP API");
}

tl::expected<std::string, DoveadmFailure>
DoveadmServerClient::sync(const std::string &user, const std::string &state,
                          bool full) {
  if (const auto syncable = syncable_name(user); !syncable)
    return tl::unexpected(syncable.error());
  // the HTTP client's parameters as options: -N every namespace, -l the
  // lock timeout, -U noreplicate honoured and a replicator notified
  std::vector<std::string> args{"sync", "-N", "-l", k_lock_timeout_secs, "-U"};
  if (full)
    args.push_back("-f");
  args.insert(args.end(),
              {"-s", full ? std::string() : state, m_options.destination});
  const auto answer = run(user, args);
  if (!answer)
    return tl::unexpected(answer.error());
  if (!answer->ok)
    return tl::unexpected(answer_failure("sync", *answer));
  if (answer->values.empty())
    return tl::unexpected(shape_failure("sync", "no dsync state"));
  return answer->values.front();
}

tl::expected<std::vector<std::string>, DoveadmFailure>
DoveadmServerClient::list_users(const std::string &mask) {
  const auto answer = run("", {"user", mask});
  if (!answer)
    return tl::unexpected(answer.error());
  if (!answer->ok) {
    auto failed = answer_failure("user", *answer);
    // a plain name that is not a user: a mask that matches nobody
    if (!is_mask(mask) && failed.kind == Kind::no_such_user)
      return std::vector<std::string>();
    return tl::unexpected(std::move(failed));
  }
  if (!is_mask(mask)) // the answer is that user's userdb fields
    return std::vector<std::string>{mask};
  // doveadm writes {"userList": [...]} for a mask, on any protocol
  const auto parsed = nlohmann::json::parse(
      answer->values.empty() ? std::string() : answer->values.front(), nullptr,
      false);
  const auto list = parsed.is_object() ? parsed.find("userList") : parsed.end();
  if (list == parsed.end() || !list->is_array())
    return tl::unexpected(shape_failure("user", "no userList"));
  std::vector<std::string> users;
  for (const auto &name : *list) {
    if (!name.is_string())
      return tl::unexpected(shape_failure("user", "a user is not a string"));
    users.push_back(name.get<std::string>());
  }
  return users;
}

void DoveadmServerClient::cancel() { m_cancelled = true; }

tl::expected<DoveadmServerClient::Answer, DoveadmFailure>
DoveadmServerClient::run(const std::string &user,
                         const std::vector<std::string> &args) {
  if (m_cancelled)
    return tl::unexpected(
        failure(Kind::temporary, "doveadm request cancelled"));
  const auto start = Clock::now();
  Connection connection(m_cancelled, start + m_options.timeout,
                        "doveadm at " + m_options.url);
  auto opened = m_path.empty()
                    ? connection.open_tcp(m_host, m_port,
                                          start + m_options.connect_timeout)
                    : connection.open_unix(m_path);
  if (!opened)
    return tl::unexpected(opened.error());
  if (auto sent = connection.send(k_handshake); !sent)
    return tl::unexpected(sent.error());
  auto greeting = connection.line();
  if (!greeting)
    return tl::unexpected(greeting.error());
  if (*greeting == "-") { // not a mode 0600 unix socket: it wants a password
    if (m_options.password.empty())
      return tl::unexpected(failure(
          Kind::auth, "doveadm at " + m_options.url +
                          " asks for a password: set "
                          "DOVEWARDEN_DOVEADM_PASSWORD (doveadm_password)"));
    const std::string plain =
        std::string("\0doveadm\0", 9) + m_options.password;
    if (auto sent =
            connection.send("PLAIN\t" + util::base64_encode(plain) + "\n");
        !sent)
      return tl::unexpected(sent.error());
    greeting = connection.line();
    if (!greeting)
      return tl::unexpected(
          greeting.error().kind == Kind::temporary
              ? failure(Kind::auth,
                        "doveadm at " + m_options.url + " refused the password")
              : greeting.error());
  }
  if (*greeting != "+")
    return tl::unexpected(failure(
        *greeting == "-" ? Kind::auth : Kind::protocol,
        "doveadm at " + m_options.url +
            (*greeting == "-" ? " refused the password"
                              : " answered the handshake unexpectedly")));

  // <flags> <user> <command> <args>..., each tab-escaped
  std::string command = "\t" + tab_escaped(user);
  for (const auto &arg : args)
    command += "\t" + tab_escaped(arg);
  command += '\n';
  if (auto sent = connection.send(command); !sent)
    return tl::unexpected(sent.error());
  const auto output = connection.line();
  if (!output)
    return tl::unexpected(output.error());
  const auto result = connection.line();
  if (!result)
    return tl::unexpected(result.error());
  if (result->empty() || ((*result)[0] != '+' && (*result)[0] != '-'))
    return tl::unexpected(
        shape_failure(args.front().c_str(), "no result line"));
  Answer answer;
  answer.values = values_of(*output);
  answer.ok = (*result)[0] == '+';
  answer.error = result->substr(1);
  return answer;
}

} // namespace dovewarden::replication
