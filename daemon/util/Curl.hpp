#pragma once

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

} // namespace dovewarden::util
