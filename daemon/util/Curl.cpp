#include "util/Curl.hpp"

#include "util/Fatal.hpp"

#include <mutex>

namespace dovewarden::util {

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Fatal("curl_global_init() failed");
  });
}

bool add_header(CurlList &list, const std::string &line) {
  curl_slist *head = curl_slist_append(list.get(), line.c_str());
  if (head == nullptr)
    return false;
  // head now starts the whole list, the old head included: let go of that
  // one without freeing it
  static_cast<void>(list.release());
  list.reset(head);
  return true;
}

tl::expected<CurlUrl, CURLUcode> parse_url(const std::string &text,
                                           unsigned int flags) {
  CurlUrl url(curl_url(), &curl_url_cleanup);
  if (!url)
    return tl::unexpected(CURLUE_OUT_OF_MEMORY);
  const auto parsed =
      curl_url_set(url.get(), CURLUPART_URL, text.c_str(), flags);
  if (parsed != CURLUE_OK)
    return tl::unexpected(parsed);
  return url;
}

std::string url_part(CURLU *url, CURLUPart part, unsigned int flags) {
  char *text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr)
    return {};
  return CurlText(text, &curl_free).get();
}

} // namespace dovewarden::util
