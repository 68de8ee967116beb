#pragma once

#include "Settings.hpp"

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace httplib {
class Client;
}

namespace dovewarden::cli {

// Talks to dovewardend's admin API (daemon/admin/AdminServer.hpp).
class AdminClient {
public:
  explicit AdminClient(const Settings &settings);
  AdminClient(const AdminClient &) = delete;
  AdminClient &operator=(const AdminClient &) = delete;
  ~AdminClient();

  // Each returns the answer's JSON body (null for none), or a failure whose
  // exit code says why: 69 the daemon is unreachable or its store fails (503),
  // 77 the token is refused (401), 64 the request is refused (400), 67 no
  // such user, endpoint or delivery (404), 76 any other answer.
  tl::expected<nlohmann::json, Failure> get(const std::string &path);
  tl::expected<nlohmann::json, Failure> post(const std::string &path,
                                             const nlohmann::json &body);
  tl::expected<nlohmann::json, Failure> patch(const std::string &path,
                                              const nlohmann::json &body);
  tl::expected<nlohmann::json, Failure> remove(const std::string &path);

  // Waits up to an hour for each answer from now on, not 30 seconds: for
  // requests that walk a whole store (GET /v1/audit/verify).
  void wait_long();

  // Returns text with every byte but A-Z a-z 0-9 - . _ ~ percent-encoded,
  // for a path segment or a query value.
  static std::string escape(std::string_view text);

private:
  std::string m_where;
  std::string m_authorization;
  std::unique_ptr<httplib::Client> m_client;
};

} // namespace dovewarden::cli
