#include "admin/EventsApi.hpp"

#include "admin/Reply.hpp"
#include "metrics/Metrics.hpp"
#include "util/HttpRouter.hpp"

#include <nlohmann/json.hpp>

namespace dovewarden::admin {

void EventsApi::install(util::HttpRouter &router) {
  router.add(
      "GET", "/v1/events/lost",
      [this](const util::HttpRequest &, util::HttpResponse &response) {
        answer(response, 200,
               nlohmann::json{{"lost", m_metrics.events_lost_by_service()}});
      });
}

} // namespace dovewarden::admin
