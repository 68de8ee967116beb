#include "TestUtil.hpp"
#include "shared/wire.hpp"

#include <boost/test/unit_test.hpp>
#include <msgpack.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <sstream>

namespace dw = dovewarden;
using dovewarden::test::from_hex;
namespace test = dovewarden::test;

namespace {

std::string encode_vector() {
  dw::wire::Encoder encoder;
  encoder.begin("message.append");
  encoder.add("ts", std::uint64_t{1795376170451312});
  encoder.add("host", "mx1");
  encoder.add("svc", "imap");
  encoder.add("pid", std::uint64_t{4242});
  encoder.add("inst", "9f3c2a1b5d7e8f60");
  encoder.add("seq", std::uint64_t{7});
  encoder.add("session", "D2bgluJguMp/AAAB");
  encoder.add("user", "alice");
  encoder.add("ip", "127.0.0.1");
  encoder.add("origin", "client");
  encoder.add("mailbox", "INBOX");
  encoder.add("uid", std::uint64_t{1});
  encoder.add("uidvalidity", std::uint64_t{1795376171});
  encoder.add("flags", std::vector<std::string_view>{"\\Seen"});
  return std::string(encoder.finish());
}

// Packs a map with what fill() adds, for messages the Encoder cannot make.
template <typename Fill> std::string pack_map(std::uint32_t size, Fill fill) {
  std::stringstream out;
  msgpack::packer<std::stringstream> packer(out);
  packer.pack_map(size);
  fill(packer);
  return out.str();
}

// Returns the name of the reason bytes are rejected for, or "accepted".
std::string reject_of(const std::string &bytes) {
  const auto decoded = dw::wire::decode(bytes);
  return decoded ? "accepted" : dw::wire::reject_name(decoded.error());
}

} // namespace

BOOST_AUTO_TEST_SUITE(wire)

BOOST_AUTO_TEST_CASE(test_vector_encodes_byte_for_byte) {
  const auto expected = test::vector_bytes();
  BOOST_TEST(expected.size() == 202u);
  BOOST_TEST(encode_vector() == expected);
}

BOOST_AUTO_TEST_CASE(test_vector_decodes) {
  const auto decoded = dw::wire::decode(test::vector_bytes());
  BOOST_REQUIRE(decoded);
  const auto &message = *decoded;
  BOOST_TEST(message.type == "message.append");
  const std::vector<std::string> keys{
      "ts",   "host", "svc",    "pid",     "inst", "seq",         "session",
      "user", "ip",   "origin", "mailbox", "uid",  "uidvalidity", "flags"};
  BOOST_REQUIRE_EQUAL(message.fields.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); i++)
    BOOST_TEST(message.fields[i].key == keys[i]);
  BOOST_TEST(message.integer("ts") == 1795376170451312);
  BOOST_TEST(message.str("host") == "mx1");
  BOOST_TEST(message.integer("pid") == 4242);
  BOOST_TEST(message.str("inst") == "9f3c2a1b5d7e8f60");
  BOOST_TEST(message.integer("seq") == 7);
  BOOST_TEST(message.str("session") == "D2bgluJguMp/AAAB");
  BOOST_TEST(message.integer("uidvalidity") == 1795376171);
  const auto *flags = std::get_if<dw::wire::Strings>(message.find("flags"));
  BOOST_REQUIRE(flags != nullptr);
  BOOST_TEST(*flags == dw::wire::Strings{"\\Seen"});
}

BOOST_AUTO_TEST_CASE(encoder_round_trips_each_value_type) {
  dw::wire::Encoder encoder;
  encoder.begin("t");
  encoder.add("str", "text");
  encoder.add("empty", "");
  encoder.add("neg", std::int64_t{-5});
  encoder.add("min", std::numeric_limits<std::int64_t>::min());
  encoder.add("big", std::numeric_limits<std::uint64_t>::max());
  encoder.add("yes", true);
  encoder.add("no", false);
  encoder.add("list", std::vector<std::string_view>{"a", "b"});
  encoder.add("none", std::vector<std::string_view>{});
  const auto decoded = dw::wire::decode(encoder.finish());
  BOOST_REQUIRE(decoded);
  const auto &m = *decoded;
  BOOST_TEST(m.type == "t");
  BOOST_TEST(m.str("str") == "text");
  BOOST_TEST(m.find("empty") != nullptr);
  BOOST_TEST(m.str("empty") == "");
  BOOST_TEST(m.integer("neg") == -5);
  BOOST_TEST(m.integer("min") == std::numeric_limits<std::int64_t>::min());
  BOOST_TEST(std::get<std::uint64_t>(*m.find("big")) ==
             std::numeric_limits<std::uint64_t>::max());
  BOOST_TEST(std::get<bool>(*m.find("yes")) == true);
  BOOST_TEST(std::get<bool>(*m.find("no")) == false);
  BOOST_TEST((std::get<dw::wire::Strings>(*m.find("list")) ==
              dw::wire::Strings{"a", "b"}));
  BOOST_TEST(std::get<dw::wire::Strings>(*m.find("none")).empty());
}

BOOST_AUTO_TEST_CASE(every_width_of_a_flat_map_decodes) {
  // map16 header; each integer, float and str width; array16 of strings;
  // a signed encoding of a positive value is an integer like any other
  const std::string long_text(300, 'x');
  const auto bytes = [&] {
    std::stringstream out;
    msgpack::packer<std::stringstream> p(out);
    p.pack_map(17);
    p.pack(std::string("v"));
    p.pack_fix_uint8(1);
    p.pack(std::string("type"));
    p.pack_str(4);
    p.pack_str_body("wide", 4);
    p.pack(std::string("u8"));
    p.pack_fix_uint8(200);
    p.pack(std::string("u16"));
    p.pack_fix_uint16(60000);
    p.pack(std::string("u32"));
    p.pack_fix_uint32(4000000000u);
    p.pack(std::string("u64"));
    p.pack_fix_uint64(std::uint64_t{1} << 40);
    p.pack(std::string("i8"));
    p.pack_fix_int8(-100);
    p.pack(std::string("i16"));
    p.pack_fix_int16(-30000);
    p.pack(std::string("i32"));
    p.pack_fix_int32(-2000000000);
    p.pack(std::string("i64"));
    p.pack_fix_int64(-(std::int64_t{1} << 40));
    p.pack(std::string("i8pos"));
    p.pack_fix_int8(7);
    p.pack(std::string("fix"));
    p.pack(-3);
    p.pack(std::string("f32"));
    p.pack_float(0.25f);
    p.pack(std::string("str16"));
    p.pack(long_text);
    p.pack(std::string("str8"));
    p.pack(std::string(40, 'y'));
    p.pack(std::string("nil"));
    p.pack_nil();
    p.pack(std::string("list"));
    p.pack_array(20);
    for (int i = 0; i < 20; i++)
      p.pack(std::to_string(i));
    return out.str();
  }();
  const auto decoded = dw::wire::decode(bytes);
  BOOST_REQUIRE(decoded);
  const auto &m = *decoded;
  BOOST_TEST(m.type == "wide");
  BOOST_REQUIRE_EQUAL(m.fields.size(), 15u);
  BOOST_TEST(m.fields[0].key == "u8");
  BOOST_TEST(std::get<std::int64_t>(*m.find("u8")) == 200);
  BOOST_TEST(std::get<std::int64_t>(*m.find("u16")) == 60000);
  BOOST_TEST(std::get<std::int64_t>(*m.find("u32")) == 4000000000);
  BOOST_TEST(std::get<std::int64_t>(*m.find("u64")) == std::int64_t{1} << 40);
  BOOST_TEST(std::get<std::int64_t>(*m.find("i8")) == -100);
  BOOST_TEST(std::get<std::int64_t>(*m.find("i16")) == -30000);
  BOOST_TEST(std::get<std::int64_t>(*m.find("i32")) == -2000000000);
  BOOST_TEST(std::get<std::int64_t>(*m.find("i64")) ==
             -(std::int64_t{1} << 40));
  BOOST_TEST(std::get<std::int64_t>(*m.find("i8pos")) == 7);
  BOOST_TEST(std::get<std::int64_t>(*m.find("fix")) == -3);
  BOOST_TEST(std::get<double>(*m.find("f32")) == 0.25);
  BOOST_TEST(m.str("str16") == long_text);
  BOOST_TEST(m.str("str8") == std::string(40, 'y'));
  BOOST_TEST(std::holds_alternative<std::nullptr_t>(*m.find("nil")));
  const auto &list = std::get<dw::wire::Strings>(*m.find("list"));
  BOOST_REQUIRE_EQUAL(list.size(), 20u);
  BOOST_TEST(list[19] == "19");
}

BOOST_AUTO_TEST_CASE(a_version_in_a_signed_encoding_is_accepted) {
  const auto bytes = pack_map(2, [](auto &p) {
    p.pack(std::string("v"));
    p.pack_fix_int8(1);
    p.pack(std::string("type"));
    p.pack(std::string("t"));
  });
  BOOST_TEST(reject_of(bytes) == "accepted");
}

BOOST_AUTO_TEST_CASE(encoder_is_reusable) {
  dw::wire::Encoder encoder;
  encoder.begin("first");
  encoder.add("a", "1");
  (void)encoder.finish();
  encoder.begin("second");
  const auto decoded = dw::wire::decode(encoder.finish());
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->type == "second");
  BOOST_TEST(decoded->fields.empty());
}

BOOST_AUTO_TEST_CASE(nil_double_and_nested_values_pass_through) {
  std::string nested;
  const auto bytes = pack_map(6, [&](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(std::string("custom.thing"));
    p.pack(std::string("nothing"));
    p.pack_nil();
    p.pack(std::string("ratio"));
    p.pack_double(0.5);
    p.pack(std::string("nested"));
    std::stringstream inner;
    msgpack::packer<std::stringstream> ip(inner);
    ip.pack_map(1);
    ip.pack(std::string("k"));
    ip.pack(std::uint64_t{3});
    nested = inner.str();
    p.pack_map(1);
    p.pack(std::string("k"));
    p.pack(std::uint64_t{3});
    p.pack(std::string("mixed"));
    p.pack_array(2);
    p.pack(std::string("a"));
    p.pack(1);
  });
  const auto decoded = dw::wire::decode(bytes);
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->type == "custom.thing");
  BOOST_TEST(std::holds_alternative<std::nullptr_t>(*decoded->find("nothing")));
  BOOST_TEST(std::get<double>(*decoded->find("ratio")) == 0.5);
  const auto *packed = std::get_if<dw::wire::Packed>(decoded->find("nested"));
  BOOST_REQUIRE(packed != nullptr);
  BOOST_TEST(packed->bytes == nested);
  BOOST_TEST(std::holds_alternative<dw::wire::Packed>(*decoded->find("mixed")));
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_kept_in_order) {
  dw::wire::Encoder encoder;
  encoder.begin("message.new");
  encoder.add("zzz_future", "x");
  encoder.add("seq", std::uint64_t{1});
  const auto decoded = dw::wire::decode(encoder.finish());
  BOOST_REQUIRE(decoded);
  BOOST_REQUIRE_EQUAL(decoded->fields.size(), 2u);
  BOOST_TEST(decoded->fields[0].key == "zzz_future");
  BOOST_TEST(decoded->str("zzz_future") == "x");
}

BOOST_AUTO_TEST_CASE(rejects_garbage) {
  BOOST_TEST(reject_of("\xc1") == "not_msgpack");
  BOOST_TEST(reject_of("") == "not_msgpack");
}

BOOST_AUTO_TEST_CASE(rejects_truncated_map) {
  auto bytes = test::vector_bytes();
  bytes.pop_back();
  BOOST_TEST(reject_of(bytes) == "not_msgpack");
  BOOST_TEST(reject_of(bytes.substr(0, 3)) == "not_msgpack");
}

BOOST_AUTO_TEST_CASE(rejects_trailing_bytes) {
  auto bytes = test::vector_bytes();
  bytes += '\x00';
  BOOST_TEST(reject_of(bytes) == "not_msgpack");
}

BOOST_AUTO_TEST_CASE(rejects_an_array) {
  BOOST_TEST(reject_of(from_hex("9101")) == "not_a_map");
  BOOST_TEST(reject_of(from_hex("01")) == "not_a_map");
}

BOOST_AUTO_TEST_CASE(rejects_deep_nesting) {
  // {"v":1,"type":"x","deep":[[[[...]]]]} 100 000 levels deep: a sender must
  // not be able to make the decoder or the JSON renderer recurse that far
  std::string bytes = from_hex("83a17601a474797065a178a464656570");
  bytes += std::string(100000, '\x91');
  bytes += '\xc0';
  BOOST_TEST(reject_of(bytes) == "not_msgpack");
}

BOOST_AUTO_TEST_CASE(rejects_a_frame_over_a_mebibyte) {
  // {"v":1,"type":"x","pad":"…"} as a str32: valid msgpack all the same
  const auto of_size = [](std::size_t total) {
    std::string bytes = from_hex("83a17601a474797065a178a3706164db");
    const auto pad = total - bytes.size() - 4;
    for (const int shift : {24, 16, 8, 0})
      bytes += static_cast<char>((pad >> shift) & 0xff);
    return bytes + std::string(pad, 'x');
  };
  BOOST_TEST(
      dw::wire::decode(of_size(dw::wire::k_max_message_bytes)).has_value());
  BOOST_TEST(reject_of(of_size(dw::wire::k_max_message_bytes + 1)) ==
             "too_large");
}

BOOST_AUTO_TEST_CASE(rejects_an_integer_key) {
  const auto bytes = pack_map(3, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(std::string("x"));
    p.pack(7);
    p.pack(std::string("seven"));
  });
  BOOST_TEST(reject_of(bytes) == "bad_key");
}

BOOST_AUTO_TEST_CASE(rejects_a_key_twice) {
  // readers disagree on which one counts: Message::find takes the first, a
  // JSON reader of the stream the last
  const auto user_twice = pack_map(4, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(std::string("x"));
    p.pack(std::string("user"));
    p.pack(std::string("alice"));
    p.pack(std::string("user"));
    p.pack(std::string("mallory"));
  });
  BOOST_TEST(reject_of(user_twice) == "duplicate_key");
  const auto type_twice = pack_map(3, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(std::string("x"));
    p.pack(std::string("type"));
    p.pack(std::string("y"));
  });
  BOOST_TEST(reject_of(type_twice) == "duplicate_key");
  const auto version_twice = pack_map(3, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(std::string("x"));
    p.pack(std::string("v"));
    p.pack(1);
  });
  BOOST_TEST(reject_of(version_twice) == "duplicate_key");
  // many fields (sorted, not compared pairwise), and a value the fast
  // reader leaves to msgpack's
  for (const bool nested : {false, true}) {
    const auto many = pack_map(102, [&](auto &p) {
      p.pack(std::string("v"));
      p.pack(1);
      p.pack(std::string("type"));
      p.pack(std::string("x"));
      for (int i = 0; i < 100; i++) {
        p.pack("k" + std::to_string(i == 99 ? 42 : i));
        if (nested)
          p.pack(std::map<std::string, int>{{"a", i}});
        else
          p.pack(i);
      }
    });
    BOOST_TEST(reject_of(many) == "duplicate_key", nested);
  }
}

BOOST_AUTO_TEST_CASE(rejects_missing_or_bad_version) {
  const auto missing = pack_map(1, [](auto &p) {
    p.pack(std::string("type"));
    p.pack(std::string("x"));
  });
  BOOST_TEST(reject_of(missing) == "no_version");
  const auto text = pack_map(2, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(std::string("1"));
    p.pack(std::string("type"));
    p.pack(std::string("x"));
  });
  BOOST_TEST(reject_of(text) == "no_version");
  const auto two = pack_map(2, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(2);
    p.pack(std::string("type"));
    p.pack(std::string("x"));
  });
  BOOST_TEST(reject_of(two) == "unknown_version");
}

BOOST_AUTO_TEST_CASE(rejects_missing_or_empty_type) {
  const auto missing = pack_map(1, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
  });
  BOOST_TEST(reject_of(missing) == "no_type");
  const auto empty = pack_map(2, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(std::string(""));
  });
  BOOST_TEST(reject_of(empty) == "no_type");
  const auto number = pack_map(2, [](auto &p) {
    p.pack(std::string("v"));
    p.pack(1);
    p.pack(std::string("type"));
    p.pack(5);
  });
  BOOST_TEST(reject_of(number) == "no_type");
}

BOOST_AUTO_TEST_CASE(reject_names_are_metric_labels) {
  BOOST_TEST(std::string(dw::wire::reject_name(
                 dw::wire::Reject::not_msgpack)) == "not_msgpack");
  BOOST_TEST(std::string(dw::wire::reject_name(dw::wire::Reject::no_type)) ==
             "no_type");
}

BOOST_AUTO_TEST_SUITE_END()
