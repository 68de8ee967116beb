#pragma once

#include "FakeReplicationStore.hpp"
#include "FreePort.hpp"
#include "admin/AdminServer.hpp"
#include "admin/AdminToken.hpp"
#include "admin/ReplicationApi.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dovewarden::test {

// An AdminServer serving the ReplicationApi over a FakeReplicationStore on
// a loopback port, and a client with the right token.
struct ReplicationApiFixture {
  static constexpr const char *k_token = "s3cret-token";

  FakeReplicationStore store;
  std::uint16_t port = 0;
  admin::ReplicationApi api{
      store,
      [this]() -> tl::expected<std::vector<std::string>, std::string> {
        std::lock_guard lock(m_mutex);
        if (!m_doveadm_error.empty())
          return tl::unexpected(m_doveadm_error);
        return m_doveadm_users;
      },
      [this] {
        std::lock_guard lock(m_mutex);
        return m_skipped;
      }};
  std::unique_ptr<admin::AdminServer> server;
  httplib::Headers auth{{"Authorization", std::string("Bearer ") + k_token}};

  ReplicationApiFixture() {
    // another process may take the port between free_port() and bind
    for (int attempt = 0; attempt < 5 && !server; attempt++) {
      port = free_port();
      server = std::make_unique<admin::AdminServer>(
          util::ListenAddress{"127.0.0.1", port}, admin::AdminToken(k_token));
      server->add(api);
      if (!server->start())
        server.reset();
    }
    BOOST_REQUIRE(server);
  }
  ~ReplicationApiFixture() { server->stop(); }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client;
  }
  nlohmann::json body_of(const httplib::Result &result) const {
    BOOST_REQUIRE(result);
    return nlohmann::json::parse(result->body);
  }
  // What the API's callbacks answer, on the server's threads: the users
  // doveadm knows, or why listing them fails (non-empty error), and the
  // syncs skipped for noreplicate.
  void set_doveadm_users(std::vector<std::string> users) {
    std::lock_guard lock(m_mutex);
    m_doveadm_users = std::move(users);
  }
  void set_doveadm_error(std::string error) {
    std::lock_guard lock(m_mutex);
    m_doveadm_error = std::move(error);
  }
  void set_skipped(replication::SkippedUsers::Summary skipped) {
    std::lock_guard lock(m_mutex);
    m_skipped = std::move(skipped);
  }

  httplib::Result replicate(const nlohmann::json &body) {
    return client().Post("/v1/replication/replicate", auth, body.dump(),
                         "application/json");
  }

private:
  std::mutex m_mutex;
  std::vector<std::string> m_doveadm_users{"alex", "bert"};
  std::string m_doveadm_error;
  replication::SkippedUsers::Summary m_skipped;
};

} // namespace dovewarden::test
