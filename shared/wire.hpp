// Wire format v1: one msgpack map per ZeroMQ message (docs/wire-format.md).
// The plugin encodes with Encoder, the daemon decodes with decode().
#pragma once

#include <tl/expected.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dovewarden::wire {

constexpr std::uint64_t k_version = 1;
// the largest message decode() takes; events are a few hundred bytes
constexpr std::size_t k_max_message_bytes = std::size_t{1} << 20;

// A value of a shape the daemon does not interpret (nested map, binary, ...),
// kept as its msgpack bytes so that it passes through unchanged.
struct Packed {
  std::string bytes;
  bool operator==(const Packed &other) const { return bytes == other.bytes; }
};

using Strings = std::vector<std::string>;
using Value = std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t,
                           double, std::string, Strings, Packed>;

struct Field {
  std::string key;
  Value value;
};

// One decoded event: its type and every other key in wire order
// (v and type excluded).
struct Message {
  std::string type;
  std::vector<Field> fields;

  // Returns the value of key, or nullptr if absent.
  const Value *find(std::string_view key) const;
  // Returns the string value of key, or "" if absent or not a string.
  std::string_view str(std::string_view key) const;
  // Returns the integer value of key, or fallback if absent or not integral.
  std::int64_t integer(std::string_view key, std::int64_t fallback = 0) const;
  // Sets key to value, replacing an earlier value of the same key.
  void set(std::string_view key, Value value);
};

enum class Reject {
  not_msgpack,     // bytes are not one complete msgpack object
  not_a_map,       // top level is not a map
  bad_key,         // a key is not a string
  no_version,      // no integer "v"
  unknown_version, // "v" is not a version this build knows
  no_type,         // no string "type"
  too_large,       // more than k_max_message_bytes
  duplicate_key,   // a key twice ("v" and "type" included)
};

// Every reason, for the metrics that count each from 0.
inline constexpr std::array<Reject, 8> k_rejects{
    Reject::not_msgpack, Reject::not_a_map,       Reject::bad_key,
    Reject::no_version,  Reject::unknown_version, Reject::no_type,
    Reject::too_large,   Reject::duplicate_key};

// Returns a short snake_case name for reason, usable as a metric label.
const char *reject_name(Reject reason);

// Decode one ZeroMQ message. Returns the message, or why it was rejected.
tl::expected<Message, Reject> decode(std::string_view bytes);

// Encode one message (v, type, then the added fields) into a reusable buffer.
class Encoder {
public:
  Encoder();

  // Start a new message of type, discarding any unfinished one.
  void begin(std::string_view type);
  void add(std::string_view key, std::string_view value);
  void add(std::string_view key, const char *value) {
    add(key, std::string_view(value));
  }
  void add(std::string_view key, std::int64_t value);
  void add(std::string_view key, std::uint64_t value);
  void add(std::string_view key, bool value);
  void add(std::string_view key, const std::vector<std::string_view> &values);
  // Add count keys and their values, encoded as add() encodes them (the
  // plugin's dovewarden-msgpack.h writes the same bytes): what many
  // messages carry, encoded once.
  void add_encoded(std::string_view pairs, std::uint32_t count);
  // Returns the encoded message; valid until the next begin().
  std::string_view finish();

private:
  void key(std::string_view name);

  std::string m_buffer;
  std::uint32_t m_count = 0;
};

} // namespace dovewarden::wire
