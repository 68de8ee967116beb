#pragma once

#include <string_view>

namespace dovewarden::util {
struct HttpRequest;
struct HttpResponse;
} // namespace dovewarden::util

namespace dovewarden::admin {

// The status page (docs/operations.md): one HTML page, its CSS and script
// inline, built into the program (status-page/status.html). It holds no
// data, so it is served without the token: it asks for the token, keeps it
// in the tab's sessionStorage and reads the admin API's JSON with it.
inline constexpr std::string_view k_status_page_path = "/status";

// Returns true if request asks for the page (GET or HEAD).
bool asks_for_status_page(const util::HttpRequest &request);
// Answers the page, with headers that let it load nothing but itself and
// the API of its own origin.
void answer_status_page(util::HttpResponse &response);

namespace embedded {
// status-page/status.html (EmbeddedStatusPage.cpp, made by embed.sh)
extern const std::string_view k_status_page;
} // namespace embedded

} // namespace dovewarden::admin
