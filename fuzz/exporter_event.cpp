// ExporterEvent::parse over any body: a POST /events request as any client
// allowed to send one may make it.
#include "sources/ExporterEvent.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using dovewarden::sources::ExporterEvent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view body(reinterpret_cast<const char *>(data), size);
  const auto received =
      std::chrono::system_clock::time_point(std::chrono::seconds(1795376170));
  const auto event = ExporterEvent::parse(body, received);
  if (!event) {
    // the reason is shown to the client and counted
    if (event.error().message.empty() ||
        ExporterEvent::reject_name(event.error().reason) == nullptr)
      std::abort();
    return 0;
  }
  if (event->type().empty())
    std::abort();
  for (const auto &field : event->message.fields)
    (void)event->message.str(field.key);
  return 0;
}
