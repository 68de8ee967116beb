#pragma once

#include "replication/DoveadmClient.hpp"
#include "replication/ReadyConnection.hpp"

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dovewarden::replication {

// A client of doveadm's HTTP API (POST <url>/doveadm/v1). Each request has
// its own connection: doveadm closes it after every answer anyway. After
// each answer it connects for the next request ahead (ReadyConnection).
class DoveadmHttpClient final : public DoveadmClient {
public:
  // Throws util::ConfigError if the URL is not http(s) or holds
  // credentials, or if not exactly one of password and api_key is set.
  explicit DoveadmHttpClient(Options options);
  DoveadmHttpClient(const DoveadmHttpClient &) = delete;
  DoveadmHttpClient &operator=(const DoveadmHttpClient &) = delete;

  tl::expected<std::string, DoveadmFailure> sync(const std::string &user,
                                                 const std::string &destination,
                                                 const std::string &state,
                                                 bool full) override;
  tl::expected<UserdbFields, DoveadmFailure>
  user_fields(const std::string &user) override;
  tl::expected<std::vector<std::string>, DoveadmFailure>
  list_users(const std::string &mask) override;
  void cancel() override;

private:
  // Returns a tag for one request.
  std::string next_tag();
  // Sends [[command, parameters, tag]]. Returns the payload of doveadm's
  // response, or why there is none.
  tl::expected<nlohmann::json, DoveadmFailure>
  request(const char *command, const nlohmann::json &parameters);
  // POSTs body. Returns the body of a 200 answer, or why there was none.
  tl::expected<std::string, DoveadmFailure> post(const std::string &body);

  Options m_options;
  std::string m_endpoint; // url + "/doveadm/v1"
  std::string m_host;     // where the next request's connection goes
  std::string m_port;
  std::atomic<bool> m_cancelled{false};
  std::atomic<std::uint64_t> m_next_tag{1};
  ReadyConnection m_ready;
};

} // namespace dovewarden::replication
