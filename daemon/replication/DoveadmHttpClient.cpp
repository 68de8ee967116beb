#include "replication/DoveadmHttpClient.hpp"

#include "util/Base64.hpp"
#include "util/ConfigError.hpp"
#include "util/Curl.hpp"
#include "util/Fatal.hpp"
#include "util/Fd.hpp"

#include <nlohmann/json.hpp>

#include <curl/curl.h>
#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <utility>

namespace dovewarden::replication {

namespace {

using nlohmann::json;
using Kind = DoveadmFailure::Kind;
using util::Curl;
using util::CurlList;
using util::url_part;

constexpr const char *k_api_path = "/doveadm/v1";
constexpr int k_lock_timeout_secs = 30; // the replicator's `-l 30`
constexpr std::size_t k_max_answer = std::size_t{64} * 1024 * 1024;

DoveadmFailure failure(Kind kind, std::string message) {
  return doveadm_failure(kind, std::move(message));
}

struct Endpoint {
  std::string url; // url + "/doveadm/v1"
  std::string host;
  std::string port;
};

// Returns where requests go; throws if url is not a plain http(s) URL.
Endpoint endpoint_of(const std::string &url) {
  const char *setting = "DOVEWARDEN_DOVEADM_URL";
  const auto parsed_url = util::parse_url(url);
  if (!parsed_url && parsed_url.error() == CURLUE_OUT_OF_MEMORY)
    throw util::Fatal("curl_url() failed");
  if (!parsed_url)
    throw util::ConfigError(setting, "not a URL, expected http://HOST:PORT");
  const auto &parsed = *parsed_url;
  const std::string scheme = url_part(parsed.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    throw util::ConfigError(setting, "expected an http:// or https:// URL");
  if (!url_part(parsed.get(), CURLUPART_USER).empty() ||
      !url_part(parsed.get(), CURLUPART_PASSWORD).empty())
    throw util::ConfigError(setting, "credentials do not belong in the URL");
  Endpoint endpoint;
  endpoint.url = url;
  while (!endpoint.url.empty() && endpoint.url.back() == '/')
    endpoint.url.pop_back();
  const std::string path = k_api_path;
  if (endpoint.url.size() < path.size() ||
      endpoint.url.compare(endpoint.url.size() - path.size(), path.size(),
                           path) != 0)
    endpoint.url += path;
  endpoint.host = url_part(parsed.get(), CURLUPART_HOST);
  if (endpoint.host.size() > 2 && endpoint.host.front() == '[')
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  endpoint.port = url_part(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  return endpoint;
}

// The ready connection for one request: curl closes it once it has it.
struct Handoff {
  util::Fd ready;
  bool handed = false;
};

curl_socket_t open_socket(void *data, curlsocktype, curl_sockaddr *address) {
  auto &handoff = *static_cast<Handoff *>(data);
  if (handoff.ready) {
    handoff.handed = true;
    return handoff.ready.release();
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC,
                  address->protocol);
}

int socket_options(void *data, curl_socket_t, curlsocktype) {
  return std::exchange(static_cast<Handoff *>(data)->handed, false)
             ? CURL_SOCKOPT_ALREADY_CONNECTED
             : CURL_SOCKOPT_OK;
}

// What the callbacks of one transfer share.
struct Transfer {
  const std::atomic<bool> &cancelled;
  std::string body;
  bool too_large = false;
};

std::size_t on_data(char *data, std::size_t size, std::size_t count,
                    void *user) {
  auto &transfer = *static_cast<Transfer *>(user);
  const std::size_t bytes = size * count;
  if (transfer.body.size() + bytes > k_max_answer) {
    transfer.too_large = true;
    return 0;
  }
  transfer.body.append(data, bytes);
  return bytes;
}

int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer *>(user)->cancelled.load() ? 1 : 0;
}

DoveadmFailure transport_failure(CURLcode code, const char *error,
                                 const Transfer &transfer,
                                 const std::string &endpoint) {
  const std::string detail = *error != '\0' ? error : curl_easy_strerror(code);
  switch (code) {
  case CURLE_ABORTED_BY_CALLBACK:
    return failure(Kind::temporary, "doveadm request cancelled");
  case CURLE_OPERATION_TIMEDOUT:
    return failure(Kind::temporary, "doveadm request timed out: " + detail);
  case CURLE_GOT_NOTHING:
    // doveadm's process dies this way when it cannot reach the destination
    return failure(Kind::temporary,
                   "doveadm closed the connection without an answer (is the "
                   "destination down?)");
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
    return failure(Kind::unreachable, "doveadm at " + endpoint + ": " + detail);
  case CURLE_WRITE_ERROR:
    if (transfer.too_large)
      return failure(Kind::protocol, "doveadm's answer is larger than " +
                                         std::to_string(k_max_answer) +
                                         " bytes");
    break;
  default:
    break;
  }
  return failure(Kind::temporary, "doveadm at " + endpoint + ": " + detail);
}

// [[command, parameters, tag]]
tl::expected<std::string, DoveadmFailure> request_body(const char *command,
                                                       const json &parameters,
                                                       const std::string &tag) {
  try {
    return json::array({json::array({command, parameters, tag})}).dump();
  } catch (const json::exception &) {
    // the only text that can be bad here is what the caller passed
    return tl::unexpected(
        failure(Kind::no_such_user, std::string("doveadm ") + command +
                                        ": the name is not valid UTF-8"));
  }
}

DoveadmFailure shape_failure(const char *command, const std::string &what) {
  return failure(Kind::protocol, std::string("doveadm ") + command +
                                     ": unexpected answer: " + what);
}

// What doveadm's error types without an exit code say, for the log.
std::string error_meaning(const std::string &type) {
  if (type == "invalidRequest")
    return " (doveadm refused a parameter of the request: is this a doveadm "
           "dovewarden does not know?)";
  if (type == "unknownMethod")
    return " (doveadm does not know the command)";
  return {};
}

// The answer is [[type, payload, tag]]; type "doveadmResponse" or "error".
// Returns the payload of a response, or why there is none.
tl::expected<json, DoveadmFailure> parse_answer(const char *command,
                                                const std::string &body,
                                                const std::string &tag) {
  // the body is not quoted into messages: it is doveadm's, not ours to show
  json answer = json::parse(body, nullptr, false);
  if (answer.is_discarded())
    return tl::unexpected(shape_failure(command, "not JSON"));
  if (!answer.is_array() || answer.size() != 1 || !answer[0].is_array() ||
      answer[0].size() != 3 || !answer[0][0].is_string())
    return tl::unexpected(shape_failure(command, "not [[type, payload, tag]]"));
  json &reply = answer[0];
  if (reply[2] != tag)
    return tl::unexpected(shape_failure(command, "the tag is not ours"));
  const std::string type = reply[0].get<std::string>();
  if (type == "doveadmResponse")
    return std::move(reply[1]);
  if (type != "error")
    return tl::unexpected(
        shape_failure(command, "its type is neither doveadmResponse nor "
                               "error"));
  const json &error = reply[1];
  const auto code = error.is_object() ? error.find("exitCode") : error.end();
  if (code == error.end() || !code->is_number_integer() ||
      code->get<int>() == 0) {
    const auto kind = error.is_object() ? error.find("type") : error.end();
    const std::string name = kind != error.end() && kind->is_string()
                                 ? kind->get<std::string>()
                                 : "unknown";
    return tl::unexpected(
        failure(Kind::protocol, std::string("doveadm ") + command + ": error " +
                                    name + error_meaning(name)));
  }
  return tl::unexpected(exit_failure(command, code->get<int>()));
}

// sync answers [{"state": "..."}]
tl::expected<std::string, DoveadmFailure> state_of(const json &payload) {
  if (payload.is_array()) {
    for (const auto &row : payload) {
      const auto state = row.is_object() ? row.find("state") : row.end();
      if (state != row.end() && state->is_string())
        return state->get<std::string>();
    }
  }
  return tl::unexpected(shape_failure("sync", "no dsync state"));
}

// user answers {"userList": [...]} to a mask with wildcards, and
// {"<user>": {<userdb fields>}} to a plain name
tl::expected<std::vector<std::string>, DoveadmFailure>
users_of(const json &payload) {
  if (!payload.is_object())
    return tl::unexpected(shape_failure("user", "not an object"));
  std::vector<std::string> users;
  const auto list = payload.find("userList");
  if (list != payload.end() && list->is_array()) {
    for (const auto &user : *list) {
      if (!user.is_string())
        return tl::unexpected(shape_failure("user", "a user is not a string"));
      users.push_back(user.get<std::string>());
    }
    return users;
  }
  for (const auto &[user, fields] : payload.items()) {
    if (!fields.is_object())
      return tl::unexpected(shape_failure("user", "no userdb fields"));
    users.push_back(user);
  }
  return users;
}

} // namespace

DoveadmHttpClient::DoveadmHttpClient(Options options)
    : m_options(std::move(options)),
      m_ready(m_options.ready_connection_lifetime, std::string()) {
  util::init_curl();
  const auto endpoint = endpoint_of(m_options.url);
  m_endpoint = endpoint.url;
  m_host = endpoint.host;
  m_port = endpoint.port;
  if (m_options.password.empty() == m_options.api_key.empty())
    throw util::ConfigError("DOVEWARDEN_DOVEADM_PASSWORD",
                            "set either a doveadm password or an API key");
}

tl::expected<std::string, DoveadmFailure>
DoveadmHttpClient::sync(const std::string &user, const std::string &destination,
                        const std::string &state, bool full) {
  if (const auto plain = plain_name(user, "sync"); !plain)
    return tl::unexpected(plain.error());
  // no replicatorNotify: 2.4 refuses it (invalidRequest), and there is no
  // replicator to notify
  json parameters = {
      {"user", user},
      {"destination", json::array({destination})},
      {"state", full ? std::string() : state},
      // without it, two servers syncing each other can deadlock
      {"lockTimeout", k_lock_timeout_secs},
      // the replicator's -N: every namespace, shared and public ones too
      {"allNamespaces", true},
  };
  if (full)
    parameters["fullSync"] = true;
  const auto payload = request("sync", parameters);
  if (!payload)
    return tl::unexpected(payload.error());
  return state_of(*payload);
}

tl::expected<UserdbFields, DoveadmFailure>
DoveadmHttpClient::user_fields(const std::string &user) {
  if (const auto plain = plain_name(user, "user"); !plain)
    return tl::unexpected(plain.error());
  const auto payload = request("user", json{{"userMask", user}});
  if (!payload)
    return tl::unexpected(payload.error());
  return userdb_fields_of(*payload, user);
}

tl::expected<std::vector<std::string>, DoveadmFailure>
DoveadmHttpClient::list_users(const std::string &mask) {
  const auto payload = request("user", json{{"userMask", mask}});
  if (!payload) {
    // a plain name that is not a user: a mask that matches nobody
    if (payload.error().kind == Kind::no_such_user && !is_mask(mask))
      return std::vector<std::string>();
    return tl::unexpected(payload.error());
  }
  return users_of(*payload);
}

void DoveadmHttpClient::cancel() { m_cancelled = true; }

std::string DoveadmHttpClient::next_tag() {
  return "dw" + std::to_string(m_next_tag++);
}

tl::expected<nlohmann::json, DoveadmFailure>
DoveadmHttpClient::request(const char *command,
                           const nlohmann::json &parameters) {
  const std::string tag = next_tag();
  const auto body = request_body(command, parameters, tag);
  if (!body)
    return tl::unexpected(body.error());
  const auto answer = post(*body);
  if (!answer)
    return tl::unexpected(answer.error());
  return parse_answer(command, *answer, tag);
}

// One easy handle per request: doveadm answers "Connection: close", so a
// kept handle would save nothing, and none is shared between threads. The
// request goes on the connection opened ahead if one is ready.
tl::expected<std::string, DoveadmFailure>
DoveadmHttpClient::post(const std::string &body) {
  if (m_cancelled)
    return tl::unexpected(
        failure(Kind::temporary, "doveadm request cancelled"));
  Handoff handoff;
  if (auto ready = m_ready.take())
    handoff.ready.reset(ready->release());
  Curl curl(curl_easy_init(), &curl_easy_cleanup);
  CurlList headers(nullptr, &curl_slist_free_all);
  // "Expect:" keeps curl from waiting for 100-continue on long states
  bool ok = curl &&
            util::add_header(headers, "Content-Type: application/json") &&
            util::add_header(headers, "Expect:");
  if (ok && !m_options.api_key.empty())
    ok = util::add_header(headers, "Authorization: X-Dovecot-API " +
                                       util::base64_encode(m_options.api_key));
  if (!ok)
    return tl::unexpected(
        failure(Kind::temporary, "cannot set up a doveadm request: no memory"));

  Transfer transfer{m_cancelled, {}, false};
  char error[CURL_ERROR_SIZE] = "";
  CURL *handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, m_endpoint.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  if (!m_options.password.empty()) {
    curl_easy_setopt(handle, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(handle, CURLOPT_USERNAME, "doveadm");
    curl_easy_setopt(handle, CURLOPT_PASSWORD, m_options.password.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(m_options.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(m_options.connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, &handoff);
  curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, socket_options);
  curl_easy_setopt(handle, CURLOPT_SOCKOPTDATA, &handoff);

  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK)
    return tl::unexpected(transport_failure(code, error, transfer, m_endpoint));
  if (!m_cancelled)
    m_ready.prepare([this]() -> ReadyConnection::Open::result_type {
      const auto deadline =
          ReadyConnection::Clock::now() + m_options.connect_timeout;
      auto connection = std::make_unique<DoveadmConnection>(
          m_cancelled, "doveadm at " + m_endpoint);
      connection->set_deadline(deadline);
      if (auto opened = connection->open_tcp(m_host, m_port, deadline); !opened)
        return tl::unexpected(opened.error());
      return connection;
    });
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200)
    return std::move(transfer.body);
  const std::string http = "doveadm answered HTTP " + std::to_string(status);
  if (status == 401 || status == 403)
    return tl::unexpected(
        failure(Kind::auth, http + ": wrong doveadm password or API key"));
  if (status >= 500)
    return tl::unexpected(failure(Kind::temporary, http));
  return tl::unexpected(failure(Kind::protocol, http));
}

} // namespace dovewarden::replication
