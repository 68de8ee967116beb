#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dovewarden::webhook {

// The leases of the deliverer's claims. Each claim leases under an owner of
// its own ("owner#n"), so that what the deliverer does not send (endpoint
// busy or disabled, lease running out) can be given back with
// WebhookStore::release_owner() as soon as the rest of its claim is
// recorded, instead of when the lease runs out. Not thread-safe.
class ClaimLeases {
public:
  // Gives back the leases of owner; called once a claim is settled and
  // something of it was not sent.
  using Release = std::function<void(const std::string &owner)>;

  ClaimLeases(std::string owner, Release release);

  // Opens a claim. Returns its number. It stays open until close(), and
  // after that until each delivery added to it is done.
  std::uint64_t open();
  // Returns the owner the store leases claim's deliveries to.
  std::string owner(std::uint64_t claim) const;
  // A delivery of claim is being held or sent.
  void add(std::uint64_t claim);
  // A delivery of claim is done with: recorded if sent, else to be given
  // back.
  void done(std::uint64_t claim, bool sent);
  // Every delivery the claim found has been added.
  void close(std::uint64_t claim);
  // Returns the owners of the claims still open, and forgets them.
  std::vector<std::string> take_open();

private:
  struct Claim {
    std::size_t live = 1; // deliveries not done with, and the claim itself
    bool put_back = false;
  };

  std::string m_owner;
  Release m_release;
  std::uint64_t m_last = 0;
  std::map<std::uint64_t, Claim> m_claims;
};

} // namespace dovewarden::webhook
