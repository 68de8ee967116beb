// The plugin's ZMTP reader (dovewarden_zmtp_reader_feed) over any bytes a
// peer may send, in pieces as the socket may hand them over. The input's
// first byte seeds the sizes of the pieces, the rest is what the peer sent.
// The pieces must not change the outcome: the bytes are read once whole
// and once in pieces, and both readings must agree.
#include "plugin/dovewarden-zmtp-codec.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

struct Outcome {
  dovewarden_zmtp_read_result result = DOVEWARDEN_ZMTP_READ_MORE;
  // the bytes READY's call consumed: the handshake's
  std::size_t handshake = 0;
  std::string error;
};

void check(bool condition) {
  if (!condition)
    std::abort();
}

// Feeds data in pieces of the sizes next_size() gives, as the plugin
// does: after READY it goes on with the rest; after FAILED it stops.
template <typename NextSize>
Outcome read(const std::uint8_t *data, std::size_t size, NextSize next_size) {
  auto reader = std::make_unique<dovewarden_zmtp_reader>();
  dovewarden_zmtp_reader_init(reader.get());
  Outcome outcome;
  std::size_t pos = 0;
  bool ready = false;
  while (pos < size) {
    const std::size_t piece = std::min(size - pos, next_size());
    std::size_t consumed = SIZE_MAX;
    const auto result =
        dovewarden_zmtp_reader_feed(reader.get(), data + pos, piece, &consumed);
    check(consumed <= piece);
    pos += consumed;
    if (result == DOVEWARDEN_ZMTP_READ_FAILED) {
      // a reason fit for a log line, and no more reading
      const std::size_t len = strnlen(reader->error, sizeof(reader->error));
      check(len > 0 && len < sizeof(reader->error));
      for (std::size_t i = 0; i < len; i++)
        check(reader->error[i] >= 0x20 && reader->error[i] < 0x7f);
      check(!ready);
      std::size_t again = SIZE_MAX;
      check(dovewarden_zmtp_reader_feed(reader.get(), data, size, &again) ==
                DOVEWARDEN_ZMTP_READ_FAILED &&
            again == 0);
      return {result, 0, reader->error};
    }
    if (result == DOVEWARDEN_ZMTP_READ_READY) {
      check(!ready && reader->ready);
      ready = true;
      outcome = {result, pos, ""};
    } else {
      check(consumed == piece);
    }
  }
  return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  std::uint32_t state = data[0] | 0x100u;
  const auto whole = read(data + 1, size - 1, [] { return SIZE_MAX; });
  const auto pieces = read(data + 1, size - 1, [&state] {
    // xorshift32: pieces of 1 to 64 bytes
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return std::size_t{state % 64 + 1};
  });
  check(whole.result == pieces.result);
  check(whole.handshake == pieces.handshake);
  check(whole.error == pieces.error);
  return 0;
}
