#include "replication/DoveadmClient.hpp"

#include "replication/DoveadmHttpClient.hpp"
#include "replication/DoveadmServerClient.hpp"

namespace dovewarden::replication {

std::unique_ptr<DoveadmClient> DoveadmClient::open(Options options) {
  if (options.url.rfind("unix:", 0) == 0 || options.url.rfind("tcp:", 0) == 0)
    return std::make_unique<DoveadmServerClient>(std::move(options));
  return std::make_unique<DoveadmHttpClient>(std::move(options));
}

bool DoveadmClient::is_mask(const std::string &name) {
  return name.find_first_of("*?") != std::string::npos;
}

tl::expected<void, DoveadmFailure>
DoveadmClient::plain_name(const std::string &user, const char *command) {
  if (user.empty() || is_mask(user))
    return tl::unexpected(doveadm_failure(
        DoveadmFailure::Kind::no_such_user,
        std::string("doveadm ") + command +
            ": a user name cannot be empty or hold '*' or '?' (doveadm takes "
            "it for a mask)"));
  return {};
}

} // namespace dovewarden::replication
