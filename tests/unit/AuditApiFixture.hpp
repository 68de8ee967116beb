#pragma once

#include "FakeAuditStore.hpp"
#include "FreePort.hpp"
#include "TestUtil.hpp"
#include "admin/AdminServer.hpp"
#include "admin/AdminToken.hpp"
#include "admin/AuditApi.hpp"
#include "audit/Chain.hpp"
#include "audit/Checkpoint.hpp"
#include "audit/RecordJson.hpp"
#include "audit/SqliteAuditStore.hpp"
#include "metrics/Metrics.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace dovewarden::test {

inline audit::CheckpointSigner make_signer(const std::string &path,
                                           const std::string &name) {
  auto signer = audit::CheckpointSigner::load(path, name);
  BOOST_REQUIRE_MESSAGE(signer.has_value(), (signer ? "" : signer.error()));
  return std::move(*signer);
}

// An AdminServer with an AuditApi over a FakeAuditStore (whose records a
// test can damage) or a real SqliteAuditStore, on a loopback port, and the
// key that signs the store's checkpoints.
struct AuditApiFixture {
  static constexpr const char *k_token = "audit-admin-token";
  static constexpr const char *k_origin = "mx1.example.com/dovewarden/audit";

  TempDir dir;
  FakeAuditStore fake{k_origin};
  std::unique_ptr<audit::SqliteAuditStore> sqlite;
  audit::AuditStore *store = &fake;
  audit::CheckpointSigner signer =
      make_signer(dir.path() + "/audit.key", k_origin);
  metrics::Metrics metrics;
  std::unique_ptr<admin::AuditApi> api;
  std::unique_ptr<admin::AdminServer> server;
  std::uint16_t port = 0;
  httplib::Headers auth{{"Authorization", std::string("Bearer ") + k_token}};

  explicit AuditApiFixture(bool on_sqlite = false) {
    if (on_sqlite) {
      auto opened =
          audit::SqliteAuditStore::open(dir.path() + "/store", k_origin);
      BOOST_REQUIRE_MESSAGE(opened.has_value(),
                            (opened ? "" : opened.error().message));
      sqlite = std::move(*opened);
      store = sqlite.get();
    }
    api = std::make_unique<admin::AuditApi>(*store, signer.verifier_key(),
                                            metrics.registry());
    // another process may take the port between free_port() and bind
    for (int attempt = 0; attempt < 5 && !server; attempt++) {
      port = free_port();
      server = std::make_unique<admin::AdminServer>(
          util::ListenAddress{"127.0.0.1", port}, admin::AdminToken(k_token));
      server->add(*api);
      if (!server->start())
        server.reset();
    }
    BOOST_REQUIRE(server);
  }
  ~AuditApiFixture() { server->stop(); }

  std::string public_key_file() const { return dir.path() + "/audit.key.pub"; }

  // Returns the answer's status and JSON body.
  std::pair<int, nlohmann::json> get(const std::string &path,
                                     bool authorized = true) const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    const auto result = authorized ? client.Get(path, auth) : client.Get(path);
    BOOST_REQUIRE(result);
    return {result->status, result->body.empty()
                                ? nlohmann::json()
                                : nlohmann::json::parse(result->body)};
  }

  // Stores a record of operation by user at time (µs) and returns its seq.
  std::uint64_t add(const std::string &operation, const std::string &user,
                    std::int64_t time, audit::Record fields = {}) {
    fields.operation = operation;
    fields.user = user;
    fields.time = time;
    if (fields.actor.empty())
      fields.actor = user;
    if (fields.outcome.empty())
      fields.outcome = "ok";
    if (fields.details.empty())
      fields.details = "{}";
    const auto head = store->head();
    BOOST_REQUIRE(head);
    audit::link(fields, head->seq, head->hash);
    BOOST_REQUIRE(store->append({fields}, {}));
    return fields.seq;
  }

  // Signs a checkpoint of the chain as it stands and stores it.
  audit::Checkpoint checkpoint() {
    const auto head = store->head();
    BOOST_REQUIRE(head);
    auto signed_checkpoint =
        signer.sign(k_origin, head->seq, head->hash, 1'780'000'000'000'000);
    BOOST_REQUIRE(store->add_checkpoint(signed_checkpoint));
    return signed_checkpoint;
  }
};

// The same over SQLite.
struct SqliteAuditApiFixture : AuditApiFixture {
  SqliteAuditApiFixture() : AuditApiFixture(true) {}
};

} // namespace dovewarden::test
