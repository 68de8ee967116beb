#pragma once

#include <tl/expected.hpp>

#include <curl/curl.h>

#include <memory>
#include <string>

namespace dovewarden::util {

// RAII for libcurl's handles.
using Curl = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using CurlList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
using CurlMulti = std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)>;
using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;
using CurlText = std::unique_ptr<char, decltype(&curl_free)>;

// Initializes libcurl once per process. Throws util::Fatal if it fails.
void init_curl();
// Appends line to the header list. Returns false if out of memory (list
// unchanged).
bool add_header(CurlList &list, const std::string &line);
// Parses text as a URL, with curl_url_set()'s flags. Returns the parsed URL,
// or libcurl's code for why it is not one (curl_url_strerror() says it).
tl::expected<CurlUrl, CURLUcode> parse_url(const std::string &text,
                                           unsigned int flags = 0);
// Returns part of url, with curl_url_get()'s flags, or "" if it has none.
std::string url_part(CURLU *url, CURLUPart part, unsigned int flags = 0);

} // namespace dovewarden::util
