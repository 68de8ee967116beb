#pragma once

#include "webhook/WebhookStore.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::test {

// A WebhookStore that passes every call to a real one, or fails them all
// while failing is set.
class SwitchedWebhookStore : public webhook::WebhookStore {
public:
  explicit SwitchedWebhookStore(webhook::WebhookStore &store)
      : m_store(store) {}
  std::atomic<bool> failing = false;

  Result<void> do_ping() override {
    return pass([&] { return m_store.ping(); });
  }
  Result<bool> do_put_endpoint(const webhook::Endpoint &endpoint,
                               bool replace) override {
    return pass([&] { return m_store.put_endpoint(endpoint, replace); });
  }
  Result<std::optional<webhook::Endpoint>>
  do_endpoint(const std::string &id) override {
    return pass([&] { return m_store.endpoint(id); });
  }
  Result<std::vector<webhook::Endpoint>> do_endpoints() override {
    return pass([&] { return m_store.endpoints(); });
  }
  Result<bool> do_remove_endpoint(const std::string &id) override {
    return pass([&] { return m_store.remove_endpoint(id); });
  }
  Result<std::uint64_t> do_endpoints_version() override {
    return pass([&] { return m_store.endpoints_version(); });
  }
  Result<void>
  do_enqueue(const std::vector<webhook::Delivery> &deliveries) override {
    return pass([&] { return m_store.enqueue(deliveries); });
  }
  Result<std::vector<webhook::Delivery>>
  do_claim(const std::string &owner, webhook::TimePoint now,
           std::chrono::milliseconds lease, std::size_t max,
           std::size_t per_endpoint) override {
    return pass(
        [&] { return m_store.claim(owner, now, lease, max, per_endpoint); });
  }
  Result<bool> do_finish(const webhook::Delivery &delivery,
                         const std::string &owner,
                         const webhook::Attempt &attempt,
                         const webhook::Outcome &outcome) override {
    return pass(
        [&] { return m_store.finish(delivery, owner, attempt, outcome); });
  }
  Result<std::size_t> do_release_owner(const std::string &owner) override {
    return pass([&] { return m_store.release_owner(owner); });
  }
  Result<std::vector<webhook::DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) override {
    return pass([&] { return m_store.deliveries(endpoint_id, limit); });
  }
  Result<std::optional<webhook::DeliveryRecord>>
  do_delivery(const std::string &id) override {
    return pass([&] { return m_store.delivery(id); });
  }
  Result<bool> do_redeliver(const std::string &id,
                            webhook::TimePoint now) override {
    return pass([&] { return m_store.redeliver(id, now); });
  }
  Result<std::size_t> do_recover(const std::string &endpoint_id,
                                 webhook::TimePoint since,
                                 webhook::TimePoint until,
                                 webhook::TimePoint now) override {
    return pass(
        [&] { return m_store.recover(endpoint_id, since, until, now); });
  }
  Result<std::uint64_t> do_pending() override {
    return pass([&] { return m_store.pending(); });
  }
  Result<std::size_t> do_prune(webhook::TimePoint before,
                               std::size_t) override {
    return pass([&] { return m_store.prune(before); });
  }

private:
  template <typename Call> auto pass(Call call) -> decltype(call()) {
    if (failing)
      return db::unavailable("switched off");
    return call();
  }

  webhook::WebhookStore &m_store;
};

} // namespace dovewarden::test
