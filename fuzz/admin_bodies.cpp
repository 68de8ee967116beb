// The admin API's request bodies as any holder of the admin token may send
// them: POST /v1/replication/replicate, and a webhook endpoint's POST and
// PATCH. Each input goes through all three.
#include "admin/ReplicationApi.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/Endpoint.hpp"
#include "webhook/EndpointJson.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace admin = dovewarden::admin;
namespace webhook = dovewarden::webhook;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  static const webhook::AddressPolicy policy;
  const std::string_view body(reinterpret_cast<const char *>(data), size);

  const auto replicate = admin::parse_replicate(body);
  if (replicate ? replicate->mask.empty() : replicate.error().empty())
    std::abort();

  // the webhook routes parse the body as the replication route does
  const auto json = nlohmann::json::parse(body, nullptr, false);
  for (const bool patch : {false, true}) {
    webhook::Endpoint endpoint;
    const auto extras =
        webhook::apply_endpoint_json(json, endpoint, policy, patch);
    if (!extras && extras.error().empty())
      std::abort();
    if (extras)
      (void)webhook::endpoint_json(endpoint, true).dump();
  }
  return 0;
}
