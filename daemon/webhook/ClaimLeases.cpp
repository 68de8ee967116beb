#include "webhook/ClaimLeases.hpp"

#include <utility>

namespace dovewarden::webhook {

ClaimLeases::ClaimLeases(std::string owner, Release release)
    : m_owner(std::move(owner)), m_release(std::move(release)) {}

std::uint64_t ClaimLeases::open() {
  const auto claim = ++m_last;
  m_claims.emplace(claim, Claim{});
  return claim;
}

std::string ClaimLeases::owner(std::uint64_t claim) const {
  return m_owner + "#" + std::to_string(claim);
}

void ClaimLeases::add(std::uint64_t claim) {
  const auto found = m_claims.find(claim);
  if (found != m_claims.end())
    found->second.live++;
}

void ClaimLeases::done(std::uint64_t claim, bool sent) {
  const auto found = m_claims.find(claim);
  if (found == m_claims.end())
    return;
  auto &state = found->second;
  state.put_back = state.put_back || !sent;
  if (state.live > 0)
    state.live--;
  if (state.live > 0)
    return;
  const bool put_back = state.put_back;
  m_claims.erase(found);
  if (put_back)
    m_release(owner(claim));
}

void ClaimLeases::close(std::uint64_t claim) { done(claim, true); }

std::vector<std::string> ClaimLeases::take_open() {
  std::vector<std::string> owners;
  owners.reserve(m_claims.size());
  for (const auto &[claim, state] : m_claims)
    owners.push_back(owner(claim));
  m_claims.clear();
  return owners;
}

} // namespace dovewarden::webhook
