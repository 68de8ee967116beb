// FilterExpression::parse over any text: a webhook's filter as any admin API
// client may set it. A filter that parses is matched against an event.
#include "core/Event.hpp"
#include "filter/FilterExpression.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using dovewarden::filter::FilterExpression;
namespace core = dovewarden::core;

namespace {

core::Event sample_event() {
  core::Event event;
  event.message.type = "message.append";
  event.message.fields = {{"user", std::string("alice@example.com")},
                          {"mailbox", std::string("INBOX")},
                          {"size", std::uint64_t{4096}},
                          {"uid", std::int64_t{-7}},
                          {"ratio", 0.5},
                          {"seen", true},
                          {"flags", dovewarden::wire::Strings{"\\Seen"}}};
  return event;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  static const core::Event event = sample_event();
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  const auto filter = FilterExpression::parse(text);
  if (!filter) {
    // the position is an offset into the text, shown to the client
    if (filter.error().position > text.size() ||
        filter.error().message().empty())
      std::abort();
    return 0;
  }
  (void)(*filter)->matches(event);
  (void)(*filter)->describe();
  return 0;
}
