#include "AdminClient.hpp"

#include <httplib.h>

namespace dovewarden::cli {

namespace {

using nlohmann::json;

tl::expected<json, Failure> outcome(const httplib::Result &result,
                                    const std::string &where) {
  if (!result && result.error() == httplib::Error::Connection)
    return tl::unexpected(Failure{k_exit_unavailable,
                                  "cannot connect to dovewardend at " + where});
  if (!result)
    return tl::unexpected(Failure{
        k_exit_unavailable, "no answer from dovewardend at " + where + ": " +
                                httplib::to_string(result.error())});
  auto body = json::parse(result->body, nullptr, false); // not const: moved out
  const int status = result->status;
  if (status >= 200 && status < 300) {
    if (result->body.empty())
      return json();
    if (body.is_discarded())
      return tl::unexpected(
          Failure{k_exit_protocol, "unreadable answer from " + where});
    return body;
  }
  std::string error = "HTTP " + std::to_string(status);
  if (!body.is_discarded() && body.is_object() && body.contains("error") &&
      body["error"].is_string())
    error = body["error"].get<std::string>();
  switch (status) {
  case 400:
    return tl::unexpected(Failure{k_exit_usage, error});
  case 401:
    return tl::unexpected(Failure{k_exit_no_permission,
                                  "the admin token was refused by " + where});
  case 404:
    return tl::unexpected(Failure{k_exit_no_user, error});
  case 503:
    return tl::unexpected(
        Failure{k_exit_unavailable, "dovewardend cannot serve: " + error});
  default:
    return tl::unexpected(Failure{k_exit_protocol, where + ": " + error});
  }
}

} // namespace

AdminClient::AdminClient(const Settings &settings)
    : m_where((settings.host.find(':') != std::string::npos
                   ? "[" + settings.host + "]"
                   : settings.host) +
              ":" + std::to_string(settings.port)),
      m_authorization("Bearer " + settings.token),
      m_client(
          std::make_unique<httplib::Client>(settings.host, settings.port)) {
  m_client->set_connection_timeout(5, 0);
  m_client->set_read_timeout(30, 0);
  m_client->set_write_timeout(30, 0);
}

AdminClient::~AdminClient() = default;

void AdminClient::wait_long() { m_client->set_read_timeout(3600, 0); }

std::string AdminClient::escape(std::string_view text) {
  static constexpr char k_digits[] = "0123456789ABCDEF";
  std::string escaped;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
        (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      escaped += c;
    } else {
      escaped += '%';
      escaped += k_digits[byte >> 4];
      escaped += k_digits[byte & 0x0f];
    }
  }
  return escaped;
}

tl::expected<json, Failure> AdminClient::get(const std::string &path) {
  return outcome(m_client->Get(path, {{"Authorization", m_authorization}}),
                 m_where);
}

tl::expected<json, Failure> AdminClient::post(const std::string &path,
                                              const json &body) {
  return outcome(m_client->Post(path, {{"Authorization", m_authorization}},
                                body.dump(), "application/json"),
                 m_where);
}

tl::expected<json, Failure> AdminClient::patch(const std::string &path,
                                               const json &body) {
  return outcome(m_client->Patch(path, {{"Authorization", m_authorization}},
                                 body.dump(), "application/json"),
                 m_where);
}

tl::expected<json, Failure> AdminClient::remove(const std::string &path) {
  return outcome(m_client->Delete(path, {{"Authorization", m_authorization}}),
                 m_where);
}

} // namespace dovewarden::cli
