#pragma once

#include "admin/Routes.hpp"
#include "audit/Checkpoint.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <mutex>
#include <string>

namespace dovewarden::util {
struct HttpRequest;
struct HttpResponse;
} // namespace dovewarden::util

namespace dovewarden::audit {
class AuditStore;
}

namespace dovewarden::admin {

// The audit log's admin API (docs/audit.md), read only:
//   GET /v1/audit/records?user=&type=&since=&until=&mailbox=&ip=&msgid=
//                         &after=SEQ&limit=N&details=object|text
//       → {"records":[…], "next": SEQ|null}, in seq order; the next page
//         asks after=next
//   GET /v1/audit/checkpoints?after=SIZE&limit=N
//       → {"origin":…, "key": verifier key, "base": checkpoint|null,
//          "checkpoints":[…], "next": SIZE|null}
//   GET /v1/audit/head
//       → {"origin":…, "seq":N, "hash":…, "checkpoint": the latest|null}:
//         the chain's last record (seq 0 and the genesis hash before the
//         first) and its latest checkpoint, for the status page
//   GET /v1/audit/verify
//       → {"ok":…, "records":N, "checkpoints":N, "damage":…|null,
//          "seq":N, "message":…}, counted in
//         dovewarden_audit_verifications_total{result}
// Bad parameters answer 400 naming the parameter, a store failure 503, a
// verification while another runs 409, each with {"error":"…"}.
class AuditApi final : public Routes {
public:
  static constexpr std::size_t k_default_limit = 100;
  static constexpr std::size_t k_max_limit = 1000;
  // a filter longer than this cannot be a user, mailbox or Message-ID
  static constexpr std::size_t k_max_filter = 1024;
  // "ok" and each damage_name() of the Verifier
  static constexpr std::array<const char *, 7> k_results{
      "ok",        "edited",         "deleted",   "reordered",
      "truncated", "bad_checkpoint", "unreadable"};

  // verifier_key is the daemon's own (CheckpointSigner::verifier_key()):
  // the one its checkpoints are checked with. Throws std::invalid_argument
  // if it is not a verifier key.
  AuditApi(audit::AuditStore &store, const std::string &verifier_key,
           prometheus::Registry &registry);
  AuditApi(const AuditApi &) = delete;
  AuditApi &operator=(const AuditApi &) = delete;

  void install(util::HttpRouter &router) override;

private:
  void records(const util::HttpRequest &request, util::HttpResponse &response);
  void checkpoints(const util::HttpRequest &request,
                   util::HttpResponse &response);
  void head(util::HttpResponse &response);
  void verify(util::HttpResponse &response);
  void count(const std::string &result);

  audit::AuditStore &m_store;
  std::string m_verifier_key;
  audit::CheckpointVerifier m_key;
  std::array<prometheus::Counter *, k_results.size()> m_verifications{};
  // a verification reads the whole chain: one at a time
  std::mutex m_verify_mutex;
};

} // namespace dovewarden::admin
