#pragma once

#include "admin/Routes.hpp"

#include <functional>
#include <mutex>
#include <string>

namespace dovewarden::util {
struct HttpRequest;
struct HttpResponse;
} // namespace dovewarden::util

namespace dovewarden::webhook {
class AddressPolicy;
class WebhookStore;
} // namespace dovewarden::webhook

namespace dovewarden::admin {

// The webhook endpoints' admin API (docs/cli.md), served by AdminServer:
//   POST   /v1/webhooks                  register an endpoint → 201
//   GET    /v1/webhooks                  every endpoint, without secrets
//   GET    /v1/webhooks/ID[?secrets=1]   one endpoint
//   PATCH  /v1/webhooks/ID               change it, rotate its secret
//   DELETE /v1/webhooks/ID               remove it and its deliveries → 204
//   POST   /v1/webhooks/ID/test          enqueue a webhook.test → 202
//   GET    /v1/webhooks/ID/deliveries?limit=N   its delivery log
//   POST   /v1/webhooks/ID/recover       failed deliveries pending again
//   GET    /v1/deliveries/ID             one delivery, its body and attempts
//   POST   /v1/deliveries/ID/redeliver   pending again → 202
// Bad input answers 400 naming the member, an unknown id 404, a store
// failure 503, each with {"error":"…"}; a refused request changes nothing.
class WebhookApi final : public Routes {
public:
  // policy refuses targets whose host is a literal forbidden address (the
  // deliverer checks the address it dials); on_change, if given, is called
  // after every change made, so that the daemon wakes whoever delivers.
  WebhookApi(webhook::WebhookStore &store, const webhook::AddressPolicy &policy,
             std::function<void()> on_change = {});
  WebhookApi(const WebhookApi &) = delete;
  WebhookApi &operator=(const WebhookApi &) = delete;

  void install(util::HttpRouter &router) override;

private:
  void create(const util::HttpRequest &request, util::HttpResponse &response);
  void list(util::HttpResponse &response);
  void show(const util::HttpRequest &request, util::HttpResponse &response);
  void update(const util::HttpRequest &request, util::HttpResponse &response);
  void remove(const util::HttpRequest &request, util::HttpResponse &response);
  void test(const util::HttpRequest &request, util::HttpResponse &response);
  void deliveries(const util::HttpRequest &request,
                  util::HttpResponse &response);
  void recover(const util::HttpRequest &request, util::HttpResponse &response);
  void delivery(const util::HttpRequest &request, util::HttpResponse &response);
  void redeliver(const util::HttpRequest &request,
                 util::HttpResponse &response);
  void endpoints_changed() const;

  webhook::WebhookStore &m_store;
  const webhook::AddressPolicy &m_policy;
  std::function<void()> m_on_change;
  // PATCH reads, changes and writes an endpoint: one at a time
  std::mutex m_update_mutex;
};

} // namespace dovewarden::admin
