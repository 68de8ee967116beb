// The plugin's msgpack writer in C: the bytes of the daemon's encoder
// (shared/wire.hpp) for the same calls, which the daemon decodes.
#include "TestUtil.hpp"
#include "plugin/dovewarden-msgpack.h"
#include "shared/wire.hpp"
#include "util/Sha256.hpp"

#include <boost/test/unit_test.hpp>
#include <msgpack.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace wire = dovewarden::wire;
namespace test = dovewarden::test;
// bytes in hex: a failure shows where they differ
using dovewarden::util::to_hex;

namespace {

// One event written by both encoders, call by call.
class BothEncoders {
public:
  BothEncoders() { dovewarden_msgpack_init(&m_mp); }
  ~BothEncoders() { dovewarden_msgpack_free(&m_mp); }
  BothEncoders(const BothEncoders &) = delete;
  BothEncoders &operator=(const BothEncoders &) = delete;

  void begin(const std::string &type) {
    m_encoder.begin(type);
    dovewarden_msgpack_begin(&m_mp, type.c_str());
  }
  void add(const std::string &key, const std::string &value) {
    m_encoder.add(key, std::string_view(value));
    dovewarden_msgpack_add_str(&m_mp, key.c_str(), value.c_str());
  }
  void add(const std::string &key, std::int64_t value) {
    m_encoder.add(key, value);
    dovewarden_msgpack_add_int(&m_mp, key.c_str(), value);
  }
  void add(const std::string &key, std::uint64_t value) {
    m_encoder.add(key, value);
    dovewarden_msgpack_add_uint(&m_mp, key.c_str(), value);
  }
  void add(const std::string &key, const std::vector<std::string> &values) {
    std::vector<std::string_view> views(values.begin(), values.end());
    std::vector<const char *> pointers;
    for (const auto &value : values)
      pointers.push_back(value.c_str());
    m_encoder.add(key, views);
    dovewarden_msgpack_add_strv(&m_mp, key.c_str(), pointers.data(),
                                static_cast<unsigned int>(pointers.size()));
  }

  std::string expected() { return std::string(m_encoder.finish()); }
  std::string written() { return finish(m_mp); }

  static std::string finish(dovewarden_msgpack &mp) {
    const unsigned char *data = nullptr;
    std::size_t size = 0;
    BOOST_REQUIRE(dovewarden_msgpack_finish(&mp, &data, &size));
    return std::string(reinterpret_cast<const char *>(data), size);
  }

private:
  wire::Encoder m_encoder;
  dovewarden_msgpack m_mp;
};

// Writes an event with what add() adds, checks its bytes against the
// encoder's and returns them.
template <typename Add> std::string write(Add add) {
  BothEncoders both;
  both.begin("message.append");
  add(both);
  const auto written = both.written();
  BOOST_TEST(to_hex(written) == to_hex(both.expected()));
  return written;
}

// The same, and returns what the daemon decodes of the bytes.
template <typename Add> wire::Message write_and_decode(Add add) {
  auto decoded = wire::decode(write(add));
  BOOST_REQUIRE(decoded);
  return *decoded;
}

// msgpack-c's object of bytes, beyond the daemon's limits (wire.cpp) on
// the sizes of maps and arrays.
msgpack::object_handle unpack(const std::string &bytes) {
  return msgpack::unpack(bytes.data(), bytes.size());
}

// The integers around each of msgpack's size boundaries that both an
// int64 and a uint64 hold: fixint, 8, 16, 32 and 64 bits.
const std::vector<std::uint64_t> k_non_negative{
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    4294967295,
    4294967296,
    std::numeric_limits<std::int64_t>::max()};

// The lengths around each of msgpack's size boundaries: fix, 8, 16, 32 bits.
const std::vector<std::size_t> k_str_lengths{0,   1,     31,    32,   255,
                                             256, 65535, 65536, 70000};
const std::vector<std::size_t> k_array_counts{0,     1,     15,   16,
                                              65535, 65536, 70000};

} // namespace

BOOST_AUTO_TEST_SUITE(plugin_msgpack)

BOOST_AUTO_TEST_CASE(writes_the_wire_formats_test_vector) {
  dovewarden_msgpack mp;
  dovewarden_msgpack_init(&mp);
  const char *const flags[] = {"\\Seen"};
  dovewarden_msgpack_begin(&mp, "message.append");
  dovewarden_msgpack_add_uint(&mp, "ts", 1795376170451312);
  dovewarden_msgpack_add_str(&mp, "host", "mx1");
  dovewarden_msgpack_add_str(&mp, "svc", "imap");
  dovewarden_msgpack_add_int(&mp, "pid", 4242);
  dovewarden_msgpack_add_str(&mp, "inst", "9f3c2a1b5d7e8f60");
  dovewarden_msgpack_add_uint(&mp, "seq", 7);
  dovewarden_msgpack_add_str(&mp, "session", "D2bgluJguMp/AAAB");
  dovewarden_msgpack_add_str(&mp, "user", "alice");
  dovewarden_msgpack_add_str(&mp, "ip", "127.0.0.1");
  dovewarden_msgpack_add_str(&mp, "origin", "client");
  dovewarden_msgpack_add_str(&mp, "mailbox", "INBOX");
  dovewarden_msgpack_add_int(&mp, "uid", 1);
  dovewarden_msgpack_add_int(&mp, "uidvalidity", 1795376171);
  dovewarden_msgpack_add_strv(&mp, "flags", flags, 1);
  BOOST_TEST(to_hex(BothEncoders::finish(mp)) == to_hex(test::vector_bytes()));
  dovewarden_msgpack_free(&mp);
}

BOOST_AUTO_TEST_CASE(signed_integers_at_every_size_boundary) {
  std::vector<std::int64_t> values{
      -1,
      -32,
      -33,
      -128,
      -129,
      -32768,
      -32769,
      std::numeric_limits<std::int32_t>::min(),
      std::int64_t{std::numeric_limits<std::int32_t>::min()} - 1,
      std::numeric_limits<std::int64_t>::min()};
  for (const auto value : k_non_negative)
    values.push_back(static_cast<std::int64_t>(value));
  for (const auto value : values) {
    BOOST_TEST_CONTEXT("value " << value) {
      const auto message =
          write_and_decode([&](BothEncoders &both) { both.add("n", value); });
      BOOST_TEST(message.integer("n", 42) == value);
    }
  }
}

BOOST_AUTO_TEST_CASE(unsigned_integers_at_every_size_boundary) {
  auto values = k_non_negative;
  values.push_back(std::uint64_t{1} << 63);
  values.push_back(std::numeric_limits<std::uint64_t>::max());
  for (const auto value : values) {
    BOOST_TEST_CONTEXT("value " << value) {
      const auto message =
          write_and_decode([&](BothEncoders &both) { both.add("n", value); });
      const auto *decoded = message.find("n");
      BOOST_REQUIRE(decoded != nullptr);
      if (value > static_cast<std::uint64_t>(INT64_MAX))
        BOOST_TEST(std::get<std::uint64_t>(*decoded) == value);
      else
        BOOST_TEST(std::get<std::int64_t>(*decoded) ==
                   static_cast<std::int64_t>(value));
    }
  }
}

BOOST_AUTO_TEST_CASE(strings_at_every_size_boundary) {
  for (const auto length : k_str_lengths) {
    BOOST_TEST_CONTEXT("length " << length) {
      const std::string value(length, 'x');
      const auto message = write_and_decode(
          [&](BothEncoders &both) { both.add("subject", value); });
      BOOST_TEST(message.str("subject") == value);
    }
  }
}

BOOST_AUTO_TEST_CASE(keys_at_every_size_boundary) {
  for (const auto length : k_str_lengths) {
    BOOST_TEST_CONTEXT("length " << length) {
      const std::string key(length, 'k');
      const auto message =
          write_and_decode([&](BothEncoders &both) { both.add(key, "x"); });
      BOOST_REQUIRE(message.fields.size() == 1u);
      BOOST_TEST(message.fields[0].key == key);
    }
  }
}

BOOST_AUTO_TEST_CASE(string_lists_at_every_size_boundary) {
  for (const auto count : k_array_counts) {
    BOOST_TEST_CONTEXT("count " << count) {
      std::vector<std::string> values;
      for (std::size_t i = 0; i < count; i++)
        values.push_back(std::to_string(i));
      const auto written =
          write([&](BothEncoders &both) { both.add("flags", values); });
      const auto handle = unpack(written);
      const auto &map = handle.get().via.map;
      BOOST_REQUIRE(map.size == 3u);
      BOOST_TEST(map.ptr[2].val.as<std::vector<std::string>>() == values,
                 boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(maps_at_every_size_boundary) {
  // v and type are two of the map's keys
  for (const std::uint64_t keys : {13, 14, 65533, 65534, 70000}) {
    BOOST_TEST_CONTEXT("keys " << keys + 2) {
      const auto written = write([&](BothEncoders &both) {
        for (std::uint64_t i = 0; i < keys; i++)
          both.add("k" + std::to_string(i), i);
      });
      const auto handle = unpack(written);
      const auto &map = handle.get().via.map;
      BOOST_REQUIRE(map.size == keys + 2);
      BOOST_TEST(map.ptr[1].val.as<std::string>() == "message.append");
      BOOST_TEST(map.ptr[keys + 1].key.as<std::string>() ==
                 "k" + std::to_string(keys - 1));
      BOOST_TEST(map.ptr[keys + 1].val.as<std::uint64_t>() == keys - 1);
    }
  }
}

// a user's keys, encoded once when the user is made
// (plugin/dovewarden-user.c), in every event of the user, by either sink
BOOST_AUTO_TEST_CASE(keys_encoded_once_are_the_bytes_of_adding_them) {
  dovewarden_msgpack keys;
  dovewarden_msgpack_init(&keys);
  dovewarden_msgpack_begin_keys(&keys);
  dovewarden_msgpack_add_str(&keys, "user", "alice");
  dovewarden_msgpack_add_str(&keys, "session", "D2bgluJguMp/AAAB");
  dovewarden_msgpack_add_int(&keys, "port", 54321);
  const std::string_view pairs(reinterpret_cast<const char *>(keys.data),
                               keys.used);

  dovewarden_msgpack mp;
  dovewarden_msgpack_init(&mp);
  wire::Encoder encoder;
  for (const std::string type : {"message.append", "message.flags"}) {
    BOOST_TEST_CONTEXT(type) {
      BothEncoders both;
      both.begin(type);
      both.add("seq", std::uint64_t{7});
      both.add("user", "alice");
      both.add("session", "D2bgluJguMp/AAAB");
      both.add("port", std::int64_t{54321});
      both.add("origin", "client");
      const auto expected = both.expected();

      dovewarden_msgpack_begin(&mp, type.c_str());
      dovewarden_msgpack_add_uint(&mp, "seq", 7);
      dovewarden_msgpack_add_encoded(&mp, &keys);
      dovewarden_msgpack_add_str(&mp, "origin", "client");
      BOOST_TEST(to_hex(BothEncoders::finish(mp)) == to_hex(expected));

      encoder.begin(type);
      encoder.add("seq", std::uint64_t{7});
      encoder.add_encoded(pairs, keys.count);
      encoder.add("origin", std::string_view("client"));
      BOOST_TEST(to_hex(encoder.finish()) == to_hex(expected));
    }
  }
  dovewarden_msgpack_free(&mp);
  dovewarden_msgpack_free(&keys);
}

BOOST_AUTO_TEST_CASE(keys_that_failed_to_encode_fail_the_event) {
  dovewarden_msgpack keys;
  dovewarden_msgpack_init(&keys);
  dovewarden_msgpack_begin_keys(&keys);
  dovewarden_msgpack_add_str(&keys, "user", "alice");
  keys.failed = true;
  dovewarden_msgpack mp;
  dovewarden_msgpack_init(&mp);
  dovewarden_msgpack_begin(&mp, "message.append");
  dovewarden_msgpack_add_encoded(&mp, &keys);
  const unsigned char *data = nullptr;
  std::size_t size = 0;
  BOOST_TEST(!dovewarden_msgpack_finish(&mp, &data, &size));
  dovewarden_msgpack_free(&mp);
  dovewarden_msgpack_free(&keys);
}

BOOST_AUTO_TEST_CASE(begin_discards_the_unfinished_event) {
  BothEncoders both;
  both.begin("mailbox.create");
  both.add("mailbox", "Trash");
  both.begin("message.expunge");
  both.add("uid", std::uint64_t{9});
  const auto written = both.written();
  BOOST_TEST(to_hex(written) == to_hex(both.expected()));
  const auto decoded = wire::decode(written);
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->type == "message.expunge");
  BOOST_TEST(decoded->find("mailbox") == nullptr);
}

BOOST_AUTO_TEST_CASE(events_after_a_large_one_are_as_small_as_ever) {
  BothEncoders both;
  both.begin("message.append");
  both.add("subject", std::string(100000, 's'));
  BOOST_TEST(to_hex(both.written()) == to_hex(both.expected()));
  both.begin("message.expunge");
  both.add("uid", std::uint64_t{9});
  BOOST_TEST(to_hex(both.written()) == to_hex(both.expected()));
}

BOOST_AUTO_TEST_CASE(a_string_without_value_adds_no_key) {
  dovewarden_msgpack mp;
  dovewarden_msgpack_init(&mp);
  dovewarden_msgpack_begin(&mp, "login");
  dovewarden_msgpack_add_str(&mp, "ip", nullptr);
  const auto decoded = wire::decode(BothEncoders::finish(mp));
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->fields.empty());
  dovewarden_msgpack_free(&mp);
}

BOOST_AUTO_TEST_CASE(nothing_is_finished_before_begin) {
  dovewarden_msgpack mp;
  dovewarden_msgpack_init(&mp);
  const unsigned char *data = nullptr;
  std::size_t size = 0;
  BOOST_TEST(!dovewarden_msgpack_finish(&mp, &data, &size));
  dovewarden_msgpack_free(&mp);
}

BOOST_AUTO_TEST_SUITE_END()
