#pragma once

#include "util/Throttle.hpp"
#include "webhook/Verdict.hpp"
#include "webhook/WebhookStore.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dovewarden::webhook {

// The endpoints as the store had them, with the version they had.
struct EndpointsRead {
  std::uint64_t version = 0;
  std::vector<Endpoint> endpoints;
};

// The deliverer's calls to its store, each made whole on one thread (the
// store's, StoreThread): claims, with the endpoints read again when they
// changed (looked at when asked, or for a delivery to an endpoint the caller
// does not know); attempts recorded, with the endpoints they disable; leases
// given back; the delivery log pruned and its pending deliveries counted.
// Failures are logged, once a minute for those that repeat at every poll.
class Outbox {
public:
  using Steady = std::chrono::steady_clock;

  struct Options {
    // added to the longest endpoint timeout to make a claim's lease
    std::chrono::milliseconds lease_margin{0};
    // an endpoint failing for this long is disabled; 0: never
    std::chrono::milliseconds disable_after{0};
  };

  // What a claim asks for.
  struct ClaimRequest {
    std::string owner; // of the leases
    std::size_t max = 0;
    std::size_t per_endpoint = 0;
    std::chrono::milliseconds lease{0};         // for the endpoints known
    std::optional<std::uint64_t> known_version; // of the endpoints known
    bool look = false; // whether to look if the endpoints changed
    std::unordered_set<std::string> known_ids; // of the endpoints known
  };

  struct Claimed {
    // the endpoints, if they changed since known_version
    std::optional<EndpointsRead> endpoints;
    WebhookStore::Result<std::vector<Delivery>> deliveries;
    Steady::time_point lease_end;
  };

  // An attempt judged, to be recorded.
  struct Judged {
    Finish finish;
    Verdict::Action action = Verdict::Action::retry;
    std::uint64_t claim = 0; // the caller's, carried along
  };

  struct Recorded {
    // for each attempt: false if the delivery was no longer leased
    WebhookStore::Result<std::vector<bool>> finished;
    // the endpoints disabled, each with why
    std::vector<std::pair<Endpoint, std::string>> disabled;
  };

  Outbox(WebhookStore &store, Options options);
  Outbox(const Outbox &) = delete;
  Outbox &operator=(const Outbox &) = delete;

  // Claims due deliveries. If asked to look, reads the endpoints when their
  // version is not known_version, and leases long enough for them. A
  // delivery found after endpoints_changed() is not handed out with the
  // endpoints from before: they are read again, or it is given back. A
  // delivery for an endpoint not in known_ids has the endpoints read again
  // (once per claim) if they changed.
  Claimed claim(const ClaimRequest &request);
  // Records the attempts in one store call, then disables the endpoints
  // that answered 410 or have been failing longer than disable_after.
  Recorded record(const std::vector<Judged> &batch);
  // Gives back the leases of owner.
  void release(const std::string &owner);
  // Deletes finished deliveries created before.
  void prune(TimePoint before);
  // Returns how many deliveries are pending, nothing if the store cannot
  // say.
  std::optional<std::uint64_t> pending();

  // Returns the lease a claim needs when no endpoint takes longer than
  // longest.
  std::chrono::milliseconds lease_for(std::chrono::milliseconds longest) const;
  // An endpoint changed in the store (thread-safe).
  void endpoints_changed() { m_endpoints_changed = true; }
  // Returns true, once, if endpoints_changed() was called (thread-safe).
  bool take_endpoints_changed() { return m_endpoints_changed.exchange(false); }
  // Returns false while the store cannot write (thread-safe).
  bool store_ok() const { return m_store.writable(); }
  // While the store cannot write but answers reads, tries a small write
  // once the backoff allows (WebhookStore::check).
  void check_store();

private:
  // Reads the endpoints into claimed unless their version is known. Returns
  // false, and warns (once a minute, what_follows added), if they cannot be
  // read.
  bool read_endpoints(std::optional<std::uint64_t> known, Claimed &claimed,
                      std::string_view what_follows);
  // Reads the endpoints again if they changed since the claim looked, or
  // gives back what it found if they cannot be read.
  void catch_up(const ClaimRequest &request, Claimed &claimed);
  // Returns true if a delivery claimed is for an endpoint that neither the
  // caller nor the claim knows.
  static bool finds_unknown(const ClaimRequest &request,
                            const Claimed &claimed);
  // Reads the endpoints again if they changed since the claim looked.
  void learn(const ClaimRequest &request, Claimed &claimed);
  // Returns the version of the endpoints the caller has once it takes
  // claimed.
  static std::optional<std::uint64_t> known_after(const ClaimRequest &request,
                                                  const Claimed &claimed);
  std::vector<std::pair<Endpoint, std::string>>
  disabled_by(const std::vector<Judged> &batch);
  // Returns the endpoint disabled, and why, if it has been failing too long.
  std::optional<std::pair<Endpoint, std::string>>
  disable_if_failing(const std::string &endpoint_id);
  // Disables the endpoint in the store. Returns it if this call did.
  std::optional<Endpoint> disable(const std::string &endpoint_id,
                                  const std::string &reason);
  // The same for the endpoint as just read.
  std::optional<Endpoint> disable(Endpoint endpoint, const std::string &reason);

  WebhookStore &m_store;
  Options m_options;
  std::atomic<bool> m_endpoints_changed{true};
  // the store being down is said once a minute, not at every poll
  util::Throttle m_warnings{std::chrono::minutes(1)};
};

} // namespace dovewarden::webhook
