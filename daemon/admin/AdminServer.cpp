#include "admin/AdminServer.hpp"

#include "admin/Reply.hpp"
#include "util/Strings.hpp"

#include <httplib.h>

namespace dovewarden::admin {

namespace {

constexpr std::string_view k_bearer = "Bearer ";

} // namespace

AdminServer::AdminServer(util::ListenAddress address, AdminToken token)
    : m_listener("admin", std::move(address)), m_token(std::move(token)) {
  m_listener.server().set_pre_routing_handler(
      [this](const httplib::Request &request, httplib::Response &response) {
        if (authorized(request))
          return httplib::Server::HandlerResponse::Unhandled;
        response.set_header("WWW-Authenticate", "Bearer");
        fail(response, 401, "unauthorized");
        return httplib::Server::HandlerResponse::Handled;
      });
}

bool AdminServer::authorized(const httplib::Request &request) const {
  const auto header = request.get_header_value("Authorization");
  if (header.size() <= k_bearer.size() ||
      header.compare(0, k_bearer.size(), k_bearer) != 0)
    return false;
  return m_token.verify(
      util::trim(std::string_view(header).substr(k_bearer.size())));
}

} // namespace dovewarden::admin
