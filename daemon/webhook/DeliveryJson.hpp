#pragma once

#include "webhook/WebhookStore.hpp"

#include <nlohmann/json.hpp>

namespace dovewarden::webhook {

// Returns a delivery and its attempts as the admin API shows them; its body
// only if with_body.
nlohmann::json delivery_json(const DeliveryRecord &record, bool with_body);

} // namespace dovewarden::webhook
