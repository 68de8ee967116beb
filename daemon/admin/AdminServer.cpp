#include "admin/AdminServer.hpp"

#include "admin/Reply.hpp"
#include "admin/StatusPage.hpp"
#include "util/HttpRequest.hpp"
#include "util/HttpResponse.hpp"

namespace dovewarden::admin {

namespace {

util::HttpLimits admin_limits(util::HttpLimits limits) {
  limits.max_body = AdminServer::k_max_body;
  return limits;
}

} // namespace

AdminServer::AdminServer(util::ListenAddress address, AdminToken token,
                         util::HttpLimits limits)
    : m_listener("admin", std::move(address), admin_limits(limits)),
      m_token(std::move(token)), m_events(AdminEvents::actor_of(m_token)) {
  auto &router = m_listener.router();
  router.before(
      [this](const util::HttpRequest &request, util::HttpResponse &response) {
        if (asks_for_status_page(request) || authorized(request))
          return false;
        response.set_header("WWW-Authenticate", "Bearer");
        fail(response, 401, "unauthorized");
        return true;
      });
  router.add("GET", std::string(k_status_page_path),
             [](const util::HttpRequest &, util::HttpResponse &response) {
               answer_status_page(response);
             });
  router.on_refusal(
      [](const util::HttpRefusal &refusal, util::HttpResponse &response) {
        fail(response, refusal.status,
             refusal.reason == util::HttpRefusal::Reason::too_large
                 ? "request body larger than " +
                       std::to_string(refusal.max_body) + " bytes"
                 : std::string("the request body could not be read"));
        response.set_header("Connection", "close");
      });
}

bool AdminServer::authorized(const util::HttpRequest &request) const {
  const auto header = request.header("Authorization");
  const auto presented = util::BearerToken::from_header(header);
  return presented && m_token.verify(*presented);
}

} // namespace dovewarden::admin
