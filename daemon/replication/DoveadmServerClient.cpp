#include "replication/DoveadmServerClient.hpp"

#include "util/Base64.hpp"
#include "util/ConfigError.hpp"
#include "util/ListenAddress.hpp"

#include <nlohmann/json.hpp>

#include <utility>

namespace dovewarden::replication {

namespace {

using Clock = DoveadmConnection::Clock;
using Kind = DoveadmFailure::Kind;

constexpr const char *k_setting = "DOVEWARDEN_DOVEADM_URL";
// the replicator's handshake: major version 1, minor 0 (no multiplexed log)
constexpr const char *k_handshake = "VERSION\tdoveadm-server\t1\t0\n";
constexpr const char *k_lock_timeout_secs = "30"; // the replicator's `-l 30`

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

DoveadmFailure answer_failure(const char *command,
                              const DoveadmServerClient::Answer &answer) {
  if (const int code = exit_code_named(answer.error); code != 0)
    return exit_failure(command, code);
  return failure(
      Kind::temporary,
      std::string("doveadm ") + command + " failed" +
          (answer.error.empty() ? std::string() : ": " + answer.error));
}

// unix:PATH's path, or empty
std::string unix_path_of(const std::string &url) {
  return url.rfind("unix:", 0) == 0 ? url.substr(5) : std::string();
}

DoveadmFailure shape_failure(const char *command, const std::string &what) {
  return failure(Kind::protocol, std::string("doveadm ") + command +
                                     ": unexpected answer: " + what);
}

// The JSON doveadm wrote as its output (a discarded value if it is none).
nlohmann::json json_of(const DoveadmServerClient::Answer &answer) {
  return nlohmann::json::parse(answer.values.empty() ? std::string()
                                                     : answer.values.front(),
                               nullptr, false);
}

} // namespace

DoveadmServerClient::DoveadmServerClient(Options options)
    : m_options(std::move(options)), m_path(unix_path_of(m_options.url)),
      m_ready(m_options.ready_connection_lifetime, m_path) {
  const std::string &url = m_options.url;
  if (url.rfind("unix:", 0) == 0) {
    if (m_path.empty())
      throw util::ConfigError(k_setting, "unix: needs the socket's path, "
                                         "e.g. unix:/run/dovecot/"
                                         "doveadm-server");
  } else if (url.rfind("tcp:", 0) == 0) {
    const auto address = util::ListenAddress::parse(url.substr(4));
    if (!address || address->host.empty())
      throw util::ConfigError(k_setting, "expected tcp:HOST:PORT, e.g. "
                                         "tcp:127.0.0.1:12345");
    m_host = address->host;
    m_port = std::to_string(address->port);
    if (m_options.password.empty())
      throw util::ConfigError("DOVEWARDEN_DOVEADM_PASSWORD",
                              "a doveadm tcp listener asks for "
                              "doveadm_password");
  } else {
    throw util::ConfigError(k_setting, "expected unix:PATH or tcp:HOST:PORT");
  }
  if (!m_options.api_key.empty())
    throw util::ConfigError("DOVEWARDEN_DOVEADM_API_KEY",
                            "doveadm's own protocol has no API keys: use "
                            "DOVEWARDEN_DOVEADM_PASSWORD or the HTTP API");
}

tl::expected<std::string, DoveadmFailure>
DoveadmServerClient::sync(const std::string &user,
                          const std::string &destination,
                          const std::string &state, bool full) {
  if (const auto plain = plain_name(user, "sync"); !plain)
    return tl::unexpected(plain.error());
  // the HTTP client's parameters as options: -N every namespace, -l the
  // lock timeout; no -U, which 2.4 refuses (-USAGE)
  std::vector<std::string> args{"sync", "-N", "-l", k_lock_timeout_secs};
  if (full)
    args.push_back("-f");
  args.insert(args.end(), {"-s", full ? std::string() : state, destination});
  const auto answer = run(user, args);
  if (!answer)
    return tl::unexpected(answer.error());
  if (!answer->ok)
    return tl::unexpected(answer_failure("sync", *answer));
  if (answer->values.empty())
    return tl::unexpected(shape_failure("sync", "no dsync state"));
  return answer->values.front();
}

tl::expected<UserdbFields, DoveadmFailure>
DoveadmServerClient::user_fields(const std::string &user) {
  if (const auto plain = plain_name(user, "user"); !plain)
    return tl::unexpected(plain.error());
  const auto answer = run("", {"user", user});
  if (!answer)
    return tl::unexpected(answer.error());
  if (!answer->ok)
    return tl::unexpected(answer_failure("user", *answer));
  // doveadm writes the HTTP API's JSON, {"<user>": {<fields>}}, on any
  // protocol
  return userdb_fields_of(json_of(*answer), user);
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
  const auto parsed = json_of(*answer);
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

tl::expected<std::unique_ptr<DoveadmConnection>, DoveadmFailure>
DoveadmServerClient::connect(DoveadmConnection::Clock::time_point deadline) {
  auto connection = std::make_unique<DoveadmConnection>(
      m_cancelled, "doveadm at " + m_options.url);
  connection->set_deadline(deadline);
  auto opened =
      m_path.empty()
          ? connection->open_tcp(m_host, m_port,
                                 Clock::now() + m_options.connect_timeout)
          : connection->open_unix(m_path);
  if (!opened)
    return tl::unexpected(opened.error());
  if (auto sent = connection->send(k_handshake); !sent)
    return tl::unexpected(sent.error());
  auto greeting = connection->line();
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
            connection->send("PLAIN\t" + util::base64_encode(plain) + "\n");
        !sent)
      return tl::unexpected(sent.error());
    greeting = connection->line();
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
  return connection;
}

tl::expected<DoveadmServerClient::Answer, DoveadmFailure>
DoveadmServerClient::run(const std::string &user,
                         const std::vector<std::string> &args) {
  if (m_cancelled)
    return tl::unexpected(
        failure(Kind::temporary, "doveadm request cancelled"));
  const auto deadline = Clock::now() + m_options.timeout;
  auto connection = m_ready.take();
  if (!connection) {
    auto connected = connect(deadline);
    if (!connected)
      return tl::unexpected(connected.error());
    connection = std::move(*connected);
  }
  connection->set_deadline(deadline);

  // <flags> <user> <command> <args>..., each tab-escaped
  std::string command = "\t" + tab_escaped(user);
  for (const auto &arg : args)
    command += "\t" + tab_escaped(arg);
  command += '\n';
  if (auto sent = connection->send(command); !sent)
    return tl::unexpected(sent.error());
  const auto output = connection->line();
  if (!output)
    return tl::unexpected(output.error());
  const auto result = connection->line();
  if (!result)
    return tl::unexpected(result.error());
  if (result->empty() || ((*result)[0] != '+' && (*result)[0] != '-'))
    return tl::unexpected(
        shape_failure(args.front().c_str(), "no result line"));
  Answer answer;
  answer.values = values_of(*output);
  answer.ok = (*result)[0] == '+';
  answer.error = result->substr(1);
  connection.reset();
  if (!m_cancelled)
    m_ready.prepare(
        [this] { return connect(Clock::now() + m_options.connect_timeout); });
  return answer;
}

} // namespace dovewarden::replication
