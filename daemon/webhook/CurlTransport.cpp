#include "webhook/CurlTransport.hpp"

#include "dovewarden-config.h"
#include "util/Fatal.hpp"
#include "util/Strings.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

namespace dovewarden::webhook {

namespace {

using Steady = std::chrono::steady_clock;

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b));
                    });
}

} // namespace

// One POST in flight. Heap-allocated, so that the pointers libcurl keeps
// into it (body, buffers) stay put.
struct CurlTransport::Transfer {
  Id id = 0;
  util::Curl handle{nullptr, &curl_easy_cleanup};
  util::CurlList headers{nullptr, &curl_slist_free_all};
  std::string body;
  std::size_t response_cap = 0;
  std::size_t response_limit = 0;
  std::string response;
  std::size_t received = 0;
  bool too_large = false;
  std::string retry_after;
  GuardState guard; // what the SSRF guard refused, if anything
  char error[CURL_ERROR_SIZE] = {};
  Steady::time_point started;

  // Returns how the transfer ended with code.
  TransferResult result(CURLcode code);

  static std::size_t on_body(char *data, std::size_t size, std::size_t count,
                             void *user);
  static std::size_t on_header(char *data, std::size_t size, std::size_t count,
                               void *user);
};

std::size_t CurlTransport::Transfer::on_body(char *data, std::size_t size,
                                             std::size_t count, void *user) {
  auto &transfer = *static_cast<Transfer *>(user);
  const std::size_t bytes = size * count;
  transfer.received += bytes;
  if (transfer.response.size() < transfer.response_cap)
    transfer.response.append(
        data,
        std::min(bytes, transfer.response_cap - transfer.response.size()));
  if (transfer.received > transfer.response_limit) {
    transfer.too_large = true;
    return 0;
  }
  return bytes;
}

std::size_t CurlTransport::Transfer::on_header(char *data, std::size_t size,
                                               std::size_t count, void *user) {
  auto &transfer = *static_cast<Transfer *>(user);
  const std::string_view line(data, size * count);
  // a new status line (after 100 Continue) starts a new set of headers
  if (starts_with_nocase(line, "HTTP/")) {
    transfer.retry_after.clear();
  } else if (starts_with_nocase(line, "retry-after:")) {
    auto value = line.substr(12);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
      value.remove_suffix(1);
    transfer.retry_after = std::string(util::trim(value));
  }
  return size * count;
}

CurlTransport::CurlTransport(Options options, Ended ended)
    : m_options(std::move(options)), m_ended(std::move(ended)) {
  m_options.response_limit =
      std::max(m_options.response_limit, m_options.response_cap);
  util::init_curl();
  m_multi.reset(curl_multi_init());
  if (!m_multi)
    throw util::Fatal("curl_multi_init() failed");
}

CurlTransport::~CurlTransport() { abort(); }

CurlTransport::Id CurlTransport::send(Post post) {
  auto transfer = std::make_unique<Transfer>();
  transfer->id = ++m_last;
  transfer->body = std::move(post.body);
  transfer->response_cap = m_options.response_cap;
  transfer->response_limit = m_options.response_limit;
  transfer->started = Steady::now();
  transfer->handle.reset(curl_easy_init());
  if (!transfer->handle)
    throw util::Fatal("curl_easy_init() failed");
  for (const auto &line : post.headers)
    if (!util::add_header(transfer->headers, line))
      throw util::Fatal("curl_slist_append() failed");

  CURL *handle = transfer->handle.get();
  curl_easy_setopt(handle, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, transfer->body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(transfer->body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, transfer->headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "dovewarden/" PACKAGE_VERSION);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(post.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Transfer::on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, Transfer::on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, transfer->error);
  guard(handle, m_options.address_policy, transfer->guard);

  if (curl_multi_add_handle(m_multi.get(), handle) != CURLM_OK)
    throw util::Fatal("curl_multi_add_handle() failed");
  const Id id = transfer->id;
  m_transfers.emplace(handle, std::move(transfer));
  return id;
}

std::size_t CurlTransport::perform() {
  int running = 0;
  curl_multi_perform(m_multi.get(), &running);
  std::size_t ended = 0;
  int left = 0;
  while (CURLMsg *message = curl_multi_info_read(m_multi.get(), &left)) {
    if (message->msg != CURLMSG_DONE)
      continue;
    CURL *handle = message->easy_handle;
    const CURLcode code = message->data.result;
    curl_multi_remove_handle(m_multi.get(), handle);
    const auto found = m_transfers.find(handle);
    if (found == m_transfers.end())
      continue;
    const auto transfer = std::move(found->second);
    m_transfers.erase(found);
    ended++;
    m_ended(transfer->id, transfer->result(code));
  }
  return ended;
}

TransferResult CurlTransport::Transfer::result(CURLcode code) {
  TransferResult result;
  long status = 0;
  curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status);
  const bool cut_off = code == CURLE_WRITE_ERROR && too_large && status != 0;
  if (code == CURLE_OK || cut_off) {
    result.status = static_cast<int>(status);
    result.retry_after = std::move(retry_after);
  } else {
    result.refusal = guard.refusal;
    result.timed_out = code == CURLE_OPERATION_TIMEDOUT;
  }
  if (cut_off)
    result.error =
        "response cut off after " + std::to_string(response_limit) + " bytes";
  else if (code != CURLE_OK)
    result.error = error[0] != '\0' ? error : curl_easy_strerror(code);
  result.response = std::move(response);
  result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      Steady::now() - started);
  return result;
}

void CurlTransport::poll(std::chrono::milliseconds wait) {
  curl_multi_poll(m_multi.get(), nullptr, 0, static_cast<int>(wait.count()),
                  nullptr);
}

void CurlTransport::wake() { curl_multi_wakeup(m_multi.get()); }

void CurlTransport::abort() {
  for (auto &[handle, transfer] : m_transfers)
    curl_multi_remove_handle(m_multi.get(), handle);
  m_transfers.clear();
}

} // namespace dovewarden::webhook
