#pragma once

#include <chrono>
#include <string>

namespace dovewarden::webhook {

// How one POST ended, as CurlTransport saw it.
struct TransferResult {
  int status = 0;         // the response's HTTP status; 0: none came, see error
  std::string error;      // why no response came, or that it was cut off
  std::string refusal;    // why the SSRF guard refused the address dialled
  bool timed_out = false; // the timeout fired
  std::string response;   // the first bytes of the response body
  std::string retry_after; // the response's Retry-After header, "" if none
  std::chrono::milliseconds latency{0};
};

} // namespace dovewarden::webhook
