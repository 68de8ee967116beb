#include "util/HttpLimits.hpp"

namespace dovewarden::util {

const std::vector<Setting> &HttpLimits::settings() {
  static const std::vector<Setting> settings{
      {"DOVEWARDEN_LISTENER_HEAD_TIMEOUT", "--listener-head-timeout",
       "DURATION", "10s",
       "HTTP listeners: time a client has to send a request's head",
       "a request's head (request line and header fields) must arrive within "
       "this, counted from the connection's start or the next request's first "
       "byte; else the connection is closed"},
      {"DOVEWARDEN_LISTENER_BODY_TIMEOUT", "--listener-body-timeout",
       "DURATION", "60s",
       "HTTP listeners: time a client has to send a request's body",
       "a request's body must arrive within this after its head"},
      {"DOVEWARDEN_LISTENER_IDLE_TIMEOUT", "--listener-idle-timeout",
       "DURATION", "30s",
       "HTTP listeners: how long a keep-alive connection may wait idle",
       "how long a keep-alive connection may wait for its next request"},
      {"DOVEWARDEN_LISTENER_MAX_REQUESTS", "--listener-max-requests", "COUNT",
       "1000", "HTTP listeners: requests on one keep-alive connection",
       "requests on one keep-alive connection; the last answer says "
       "`Connection: close`"},
      {"DOVEWARDEN_LISTENER_MAX_CONNECTIONS", "--listener-max-connections",
       "COUNT", "512",
       "HTTP listeners: connections open at once on each; idle ones close "
       "first",
       "connections open at once on each listener; when full, the longest idle "
       "keep-alive connection is closed for a new one, and without an idle one "
       "the new one gets 503 and is closed. Each connection is a file "
       "descriptor: keep three times this under the daemon's `LimitNOFILE`"},
  };
  return settings;
}

HttpLimits HttpLimits::from(const SettingValues &values) {
  HttpLimits limits;
  limits.head_timeout =
      values.positive_duration("DOVEWARDEN_LISTENER_HEAD_TIMEOUT");
  limits.body_timeout =
      values.positive_duration("DOVEWARDEN_LISTENER_BODY_TIMEOUT");
  limits.idle_timeout =
      values.positive_duration("DOVEWARDEN_LISTENER_IDLE_TIMEOUT");
  limits.max_requests = static_cast<unsigned>(
      values.number("DOVEWARDEN_LISTENER_MAX_REQUESTS", 1, 1000000));
  limits.max_connections = static_cast<unsigned>(
      values.number("DOVEWARDEN_LISTENER_MAX_CONNECTIONS", 1, 100000));
  return limits;
}

} // namespace dovewarden::util
