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

} // namespace dovewarden::util
