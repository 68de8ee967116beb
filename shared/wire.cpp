#include "wire.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

namespace dovewarden::wire {

namespace {

// msgpack's packer writes through any type with write(const char *, size_t)
struct StringWriter {
  std::string &out;
  void write(const char *data, std::size_t size) { out.append(data, size); }
};

// room for the largest map header (map32); finish() writes the real one
// right before the body so no byte is moved
constexpr std::size_t k_header_room = 5;

// what a sender may make the decoder (and later the JSON renderer, which
// recurses) build: events are flat maps of a few dozen short fields
const msgpack::unpack_limit k_limits(/*array=*/4096, /*map=*/1024,
                                     /*str=*/1 << 20, /*bin=*/1 << 20,
                                     /*ext=*/1 << 20, /*depth=*/16);

// strings are copied out of the object before decode() returns: they may
// point into the message instead of being copied into the zone first
bool reference_strings(msgpack::type::object_type, std::size_t, void *) {
  return true;
}

// One zone per thread, emptied after each message but for its first chunk:
// a zone of its own per message would allocate 8 KiB each time, and such
// an allocation makes glibc consolidate its small free chunks, which cost
// the daemon's receiving thread more than the decoding itself.
msgpack::zone &decode_zone() {
  thread_local msgpack::zone zone;
  return zone;
}

struct ZoneClearer {
  msgpack::zone &zone;
  ~ZoneClearer() { zone.clear(); }
};

std::string_view as_view(const msgpack::object_str &str) {
  return {str.ptr, str.size};
}

Value to_value(const msgpack::object &obj) {
  switch (obj.type) {
  case msgpack::type::NIL:
    return nullptr;
  case msgpack::type::BOOLEAN:
    return obj.via.boolean;
  case msgpack::type::POSITIVE_INTEGER:
    if (obj.via.u64 <= static_cast<std::uint64_t>(INT64_MAX))
      return static_cast<std::int64_t>(obj.via.u64);
    return obj.via.u64;
  case msgpack::type::NEGATIVE_INTEGER:
    return obj.via.i64;
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    return obj.via.f64;
  case msgpack::type::STR:
    return std::string(as_view(obj.via.str));
  case msgpack::type::ARRAY: {
    const auto &array = obj.via.array;
    const bool all_strings =
        std::all_of(array.ptr, array.ptr + array.size,
                    [](const auto &o) { return o.type == msgpack::type::STR; });
    if (all_strings) {
      Strings strings;
      strings.reserve(array.size);
      for (std::uint32_t i = 0; i < array.size; i++)
        strings.emplace_back(as_view(array.ptr[i].via.str));
      return strings;
    }
    break;
  }
  default:
    break;
  }
  Packed packed;
  StringWriter writer{packed.bytes};
  msgpack::pack(writer, obj);
  return packed;
}

bool is_version(const msgpack::object &obj) {
  return obj.type == msgpack::type::POSITIVE_INTEGER;
}

// Reads what the plugin sends, flat maps of strings, integers, booleans and
// string arrays, straight from the bytes: building msgpack objects first was
// most of decode()'s cost. Anything else, or anything wrong, is left to the
// full decoder, which decides; read() returns only what that returns too.
class FlatReader {
public:
  explicit FlatReader(std::string_view bytes)
      : m_at(reinterpret_cast<const unsigned char *>(bytes.data())),
        m_end(m_at + bytes.size()) {}

  // Returns the message, or nothing if the full decoder must look.
  std::optional<Message> read() {
    std::uint32_t pairs = 0;
    if (!map_header(pairs) || pairs > k_limits.map())
      return std::nullopt;
    Message message;
    // v and type are pairs but not fields (without both: nothing returned)
    message.fields.reserve(pairs >= 2 ? pairs - 2 : 0);
    bool have_version = false;
    bool have_type = false;
    for (std::uint32_t i = 0; i < pairs; i++) {
      std::string_view key;
      if (!string(key))
        return std::nullopt;
      if (key == "v") {
        if (!once(have_version) || !version())
          return std::nullopt;
      } else if (key == "type") {
        if (!once(have_type) || !type(message.type))
          return std::nullopt;
      } else {
        // in place: a Field moved in costs as much as reading its value
        auto &field = message.fields.emplace_back();
        field.key.assign(key);
        if (!value(field.value))
          return std::nullopt;
      }
    }
    if (m_at != m_end || !have_version || !have_type)
      return std::nullopt;
    return message;
  }

private:
  // false if the pair was seen before
  static bool once(bool &seen) { return !std::exchange(seen, true); }

  bool version() {
    Value version;
    return value(version) && std::holds_alternative<std::int64_t>(version) &&
           std::get<std::int64_t>(version) ==
               static_cast<std::int64_t>(k_version);
  }

  bool type(std::string &out) {
    std::string_view type;
    if (!string(type) || type.empty())
      return false;
    out = std::string(type);
    return true;
  }

  template <typename T> bool big_endian(T &out) {
    if (static_cast<std::size_t>(m_end - m_at) < sizeof(T))
      return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); i++)
      v = (v << 8) | m_at[i];
    m_at += sizeof(T);
    out = static_cast<T>(v);
    return true;
  }

  bool map_header(std::uint32_t &pairs) {
    if (m_at == m_end)
      return false;
    const auto tag = *m_at++;
    if ((tag & 0xf0) == 0x80) {
      pairs = tag & 0x0f;
      return true;
    }
    std::uint16_t size16 = 0;
    if (tag == 0xde && big_endian(size16)) {
      pairs = size16;
      return true;
    }
    return tag == 0xdf && big_endian(pairs);
  }

  // A str of size from its header on; false if it is not one.
  bool string_body(unsigned char tag, std::string_view &out) {
    std::uint32_t size = 0;
    if ((tag & 0xe0) == 0xa0) {
      size = tag & 0x1f;
    } else if (tag == 0xd9) {
      std::uint8_t size8 = 0;
      if (!big_endian(size8))
        return false;
      size = size8;
    } else if (tag == 0xda) {
      std::uint16_t size16 = 0;
      if (!big_endian(size16))
        return false;
      size = size16;
    } else if (tag != 0xdb || !big_endian(size)) {
      return false;
    }
    if (size > k_limits.str() || static_cast<std::size_t>(m_end - m_at) < size)
      return false;
    out = std::string_view(reinterpret_cast<const char *>(m_at), size);
    m_at += size;
    return true;
  }

  bool string(std::string_view &out) {
    if (m_at == m_end)
      return false;
    return string_body(*m_at++, out);
  }

  bool value(Value &out) {
    if (m_at == m_end)
      return false;
    const auto tag = *m_at++;
    if (tag <= 0x7f) {
      out = static_cast<std::int64_t>(tag);
      return true;
    }
    if (tag >= 0xe0) {
      out = static_cast<std::int64_t>(static_cast<std::int8_t>(tag));
      return true;
    }
    std::string_view text;
    switch (tag) {
    case 0xc0:
      out = nullptr;
      return true;
    case 0xc2:
    case 0xc3:
      out = tag == 0xc3;
      return true;
    case 0xcc:
      return unsigned_value<std::uint8_t>(out);
    case 0xcd:
      return unsigned_value<std::uint16_t>(out);
    case 0xce:
      return unsigned_value<std::uint32_t>(out);
    case 0xcf:
      return unsigned_value<std::uint64_t>(out);
    case 0xd0:
      return signed_value<std::uint8_t, std::int8_t>(out);
    case 0xd1:
      return signed_value<std::uint16_t, std::int16_t>(out);
    case 0xd2:
      return signed_value<std::uint32_t, std::int32_t>(out);
    case 0xd3:
      return signed_value<std::uint64_t, std::int64_t>(out);
    case 0xca:
      return float_value<std::uint32_t, float>(out);
    case 0xcb:
      return float_value<std::uint64_t, double>(out);
    default:
      break;
    }
    if ((tag & 0xf0) == 0x90 || tag == 0xdc || tag == 0xdd)
      return strings(tag, out);
    if (!string_body(tag, text))
      return false;
    out = std::string(text);
    return true;
  }

  template <typename U> bool unsigned_value(Value &out) {
    U u = 0;
    if (!big_endian(u))
      return false;
    const auto v = static_cast<std::uint64_t>(u);
    if (v <= static_cast<std::uint64_t>(INT64_MAX))
      out = static_cast<std::int64_t>(v);
    else
      out = v;
    return true;
  }

  template <typename U, typename S> bool signed_value(Value &out) {
    U u = 0;
    if (!big_endian(u))
      return false;
    out = static_cast<std::int64_t>(static_cast<S>(u));
    return true;
  }

  template <typename U, typename F> bool float_value(Value &out) {
    U bits = 0;
    if (!big_endian(bits))
      return false;
    F number;
    std::memcpy(&number, &bits, sizeof number);
    out = static_cast<double>(number);
    return true;
  }

  // An array, if every element is a str.
  bool strings(unsigned char tag, Value &out) {
    std::uint32_t size = tag & 0x0f;
    if (tag == 0xdc) {
      std::uint16_t size16 = 0;
      if (!big_endian(size16))
        return false;
      size = size16;
    } else if (tag == 0xdd && !big_endian(size)) {
      return false;
    }
    if (size > k_limits.array())
      return false;
    Strings list;
    list.reserve(
        std::min<std::size_t>(size, static_cast<std::size_t>(m_end - m_at)));
    for (std::uint32_t i = 0; i < size; i++) {
      std::string_view text;
      if (!string(text))
        return false;
      list.emplace_back(text);
    }
    out = std::move(list);
    return true;
  }

  const unsigned char *m_at;
  const unsigned char *m_end;
};

// the most fields compared pairwise; beyond, the keys are sorted
constexpr std::size_t k_pairwise_fields = 24;

// Returns true if two fields have one key. Readers disagree on which of the
// two counts (Message::find takes the first, a JSON reader of the stream
// the last), so a message with one is refused.
bool has_duplicate_key(const std::vector<Field> &fields) {
  if (fields.size() <= k_pairwise_fields) {
    // the plugin's messages: a handful of short keys
    for (std::size_t i = 1; i < fields.size(); i++)
      for (std::size_t j = 0; j < i; j++)
        if (fields[j].key == fields[i].key)
          return true;
    return false;
  }
  std::vector<std::string_view> keys;
  keys.reserve(fields.size());
  for (const auto &field : fields)
    keys.emplace_back(field.key);
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

} // namespace

const Value *Message::find(std::string_view key) const {
  for (const auto &field : fields) {
    // keys of one length mostly differ in their first letter ("host",
    // "inst", "user"): no call to compare the rest then
    if (field.key.size() != key.size() ||
        (!key.empty() && field.key[0] != key[0]))
      continue;
    if (std::memcmp(field.key.data(), key.data(), key.size()) == 0)
      return &field.value;
  }
  return nullptr;
}

std::string_view Message::str(std::string_view key) const {
  const Value *value = find(key);
  if (value == nullptr)
    return {};
  const auto *str = std::get_if<std::string>(value);
  return str != nullptr ? std::string_view(*str) : std::string_view();
}

std::int64_t Message::integer(std::string_view key,
                              std::int64_t fallback) const {
  const Value *value = find(key);
  if (value == nullptr)
    return fallback;
  if (const auto *i = std::get_if<std::int64_t>(value))
    return *i;
  if (const auto *u = std::get_if<std::uint64_t>(value))
    return static_cast<std::int64_t>(*u);
  return fallback;
}

void Message::set(std::string_view key, Value value) {
  for (auto &field : fields) {
    if (field.key == key) {
      field.value = std::move(value);
      return;
    }
  }
  fields.push_back(Field{std::string(key), std::move(value)});
}

const char *reject_name(Reject reason) {
  switch (reason) {
  case Reject::not_msgpack:
    return "not_msgpack";
  case Reject::not_a_map:
    return "not_a_map";
  case Reject::bad_key:
    return "bad_key";
  case Reject::no_version:
    return "no_version";
  case Reject::unknown_version:
    return "unknown_version";
  case Reject::no_type:
    return "no_type";
  case Reject::too_large:
    return "too_large";
  case Reject::duplicate_key:
    return "duplicate_key";
  }
  return "unknown";
}

namespace {

// why a decoded "v" is not this format's version, if it is not
std::optional<Reject> version_problem(const msgpack::object &value) {
  if (!is_version(value))
    return Reject::no_version;
  if (value.via.u64 != k_version)
    return Reject::unknown_version;
  return std::nullopt;
}

// the message a decoded map holds, or why it holds none
tl::expected<Message, Reject> message_of(const msgpack::object_map &map) {
  Message message;
  bool have_version = false;
  bool have_type = false;
  message.fields.reserve(map.size);
  for (std::uint32_t i = 0; i < map.size; i++) {
    const auto &kv = map.ptr[i];
    if (kv.key.type != msgpack::type::STR)
      return tl::unexpected(Reject::bad_key);
    const std::string_view key = as_view(kv.key.via.str);
    if (key == "v") {
      if (have_version)
        return tl::unexpected(Reject::duplicate_key);
      if (const auto problem = version_problem(kv.val))
        return tl::unexpected(*problem);
      have_version = true;
    } else if (key == "type") {
      if (have_type)
        return tl::unexpected(Reject::duplicate_key);
      if (kv.val.type != msgpack::type::STR || kv.val.via.str.size == 0)
        return tl::unexpected(Reject::no_type);
      message.type = std::string(as_view(kv.val.via.str));
      have_type = true;
    } else {
      message.fields.push_back(Field{std::string(key), to_value(kv.val)});
    }
  }
  if (!have_version)
    return tl::unexpected(Reject::no_version);
  if (!have_type)
    return tl::unexpected(Reject::no_type);
  if (has_duplicate_key(message.fields))
    return tl::unexpected(Reject::duplicate_key);
  return message;
}

} // namespace

tl::expected<Message, Reject> decode(std::string_view bytes) {
  if (bytes.size() > k_max_message_bytes)
    return tl::unexpected(Reject::too_large);
  if (auto message = FlatReader(bytes).read()) {
    if (has_duplicate_key(message->fields))
      return tl::unexpected(Reject::duplicate_key);
    return std::move(*message);
  }
  auto &zone = decode_zone();
  const ZoneClearer clearer{zone};
  msgpack::object root;
  try {
    std::size_t offset = 0;
    root = msgpack::unpack(zone, bytes.data(), bytes.size(), offset,
                           reference_strings, nullptr, k_limits);
    if (offset != bytes.size())
      return tl::unexpected(Reject::not_msgpack);
  } catch (const std::exception &) {
    return tl::unexpected(Reject::not_msgpack);
  }
  if (root.type != msgpack::type::MAP)
    return tl::unexpected(Reject::not_a_map);

  return message_of(root.via.map);
}

Encoder::Encoder() { m_buffer.reserve(512); }

void Encoder::begin(std::string_view type) {
  m_buffer.assign(k_header_room, '\0');
  m_count = 0;
  add("v", k_version);
  add("type", type);
}

void Encoder::key(std::string_view name) {
  StringWriter writer{m_buffer};
  msgpack::packer<StringWriter> packer(writer);
  packer.pack_str(static_cast<std::uint32_t>(name.size()));
  packer.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
  m_count++;
}

void Encoder::add(std::string_view name, std::string_view value) {
  key(name);
  StringWriter writer{m_buffer};
  msgpack::packer<StringWriter> packer(writer);
  packer.pack_str(static_cast<std::uint32_t>(value.size()));
  packer.pack_str_body(value.data(), static_cast<std::uint32_t>(value.size()));
}

void Encoder::add(std::string_view name, std::int64_t value) {
  key(name);
  StringWriter writer{m_buffer};
  msgpack::packer<StringWriter>(writer).pack_int64(value);
}

void Encoder::add(std::string_view name, std::uint64_t value) {
  key(name);
  StringWriter writer{m_buffer};
  msgpack::packer<StringWriter>(writer).pack_uint64(value);
}

void Encoder::add(std::string_view name, bool value) {
  key(name);
  StringWriter writer{m_buffer};
  msgpack::packer<StringWriter> packer(writer);
  if (value)
    packer.pack_true();
  else
    packer.pack_false();
}

void Encoder::add(std::string_view name,
                  const std::vector<std::string_view> &values) {
  key(name);
  StringWriter writer{m_buffer};
  msgpack::packer<StringWriter> packer(writer);
  packer.pack_array(static_cast<std::uint32_t>(values.size()));
  for (const auto &value : values) {
    packer.pack_str(static_cast<std::uint32_t>(value.size()));
    packer.pack_str_body(value.data(),
                         static_cast<std::uint32_t>(value.size()));
  }
}

void Encoder::add_encoded(std::string_view pairs, std::uint32_t count) {
  m_buffer.append(pairs);
  m_count += count;
}

std::string_view Encoder::finish() {
  std::string header;
  StringWriter writer{header};
  msgpack::packer<StringWriter>(writer).pack_map(m_count);
  const std::size_t start = k_header_room - header.size();
  m_buffer.replace(start, header.size(), header);
  return std::string_view(m_buffer).substr(start);
}

} // namespace dovewarden::wire
