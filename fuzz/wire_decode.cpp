// wire::decode over any bytes: a ZeroMQ message as any local peer may send.
#include "shared/wire.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace wire = dovewarden::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char *>(data), size);
  const auto decoded = wire::decode(bytes);
  if (!decoded) {
    if (wire::reject_name(decoded.error()) == nullptr)
      std::abort();
    return 0;
  }
  // every field decode kept can be found by its key
  for (const auto &field : decoded->fields) {
    if (decoded->find(field.key) == nullptr)
      std::abort();
    (void)decoded->str(field.key);
    (void)decoded->integer(field.key);
  }
  return 0;
}
