#include "sources/StrictJson.hpp"

#include "util/Strings.hpp"

#include <algorithm>
#include <optional>

namespace dovewarden::sources {

namespace {

using Json = StrictJson::Json;
using Failure = StrictJson::Failure;

// how much of a duplicate key an error quotes
constexpr std::size_t k_quoted_key = 64;

// nlohmann's SAX interface, building what Json::parse builds, but appending
// each member to its object without a lookup; an object's keys are checked
// for duplicates once it is complete (sorted: no hash an attacker can aim
// at).
class Builder {
public:
  Builder(std::string_view text, int max_depth,
          const std::vector<std::string_view> &number_keys)
      : m_text(text), m_max_depth(max_depth), m_number_keys(number_keys) {}

  bool null() { return value(nullptr); }
  bool boolean(bool b) { return value(b); }
  bool number_integer(Json::number_integer_t n) {
    keep_number_text(std::to_string(n));
    return value(n);
  }
  bool number_unsigned(Json::number_unsigned_t n) {
    keep_number_text(std::to_string(n));
    return value(n);
  }
  bool number_float(Json::number_float_t n, const std::string &text) {
    keep_number_text(text);
    return value(n);
  }
  bool string(std::string &s) { return value(std::move(s)); }
  bool binary(Json::binary_t &) {
    return fail(Failure::syntax, "not JSON: binary data");
  }
  bool start_object(std::size_t) { return open(Json::object()); }
  bool key(std::string &name) {
    auto &object = m_stack.back()->get_ref<Json::object_t &>();
    // Container's own emplace_back: ordered_map's would search the keys
    object.Json::object_t::Container::emplace_back(std::move(name), nullptr);
    m_member = &object.back().second;
    m_member_key = &object.back().first;
    return true;
  }
  bool end_object() {
    const auto &object = m_stack.back()->get_ref<const Json::object_t &>();
    std::vector<std::string_view> keys;
    keys.reserve(object.size());
    for (const auto &member : object)
      keys.emplace_back(member.first);
    std::sort(keys.begin(), keys.end());
    const auto twice = std::adjacent_find(keys.begin(), keys.end());
    if (twice != keys.end())
      return fail(Failure::duplicate_key,
                  "the key " + util::quote(twice->substr(0, k_quoted_key)) +
                      (twice->size() > k_quoted_key ? "…" : "") +
                      " appears twice in one object");
    m_stack.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_array() {
    m_stack.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &e) {
    if (const auto *syntax = dynamic_cast<const Json::parse_error *>(&e)) {
      // the parser reports the byte after the end when the input ran out
      if (syntax->byte > m_text.size())
        return fail(Failure::truncated, "truncated JSON: the body ends after " +
                                            std::to_string(m_text.size()) +
                                            " bytes");
      return fail(Failure::syntax, "not JSON: syntax error at byte " +
                                       std::to_string(syntax->byte));
    }
    if (dynamic_cast<const Json::out_of_range *>(&e) != nullptr)
      return fail(Failure::bad_number,
                  "a number is outside the range of a double");
    return fail(Failure::syntax, "not JSON");
  }

  std::optional<StrictJson::Error> take_error() { return std::move(m_error); }
  StrictJson::Parsed take_parsed() {
    return {std::move(m_root), std::move(m_number_texts)};
  }

private:
  bool fail(Failure failure, std::string message) {
    // the first failure is the one to report; parsing stops there
    if (!m_error)
      m_error = StrictJson::Error{failure, std::move(message)};
    return false;
  }

  // Places v where the parser is: the root, the next item of an array or
  // the value of the key just read. Returns where it went.
  Json *place(Json &&v) {
    if (m_stack.empty()) {
      m_root = std::move(v);
      return &m_root;
    }
    Json &parent = *m_stack.back();
    if (parent.is_array()) {
      auto &items = parent.get_ref<Json::array_t &>();
      items.push_back(std::move(v));
      return &items.back();
    }
    *m_member = std::move(v);
    return m_member;
  }

  bool value(Json &&v) {
    place(std::move(v));
    return true;
  }

  bool open(Json &&empty) {
    if (static_cast<int>(m_stack.size()) >= m_max_depth)
      return fail(Failure::too_deep, "JSON nested deeper than " +
                                         std::to_string(m_max_depth) +
                                         " levels");
    m_stack.push_back(place(std::move(empty)));
    return true;
  }

  void keep_number_text(const std::string &text) {
    if (m_stack.size() != 1 || !m_stack.back()->is_object())
      return;
    for (const auto key : m_number_keys)
      if (*m_member_key == key)
        m_number_texts.emplace_back(*m_member_key, text);
  }

  std::string_view m_text;
  int m_max_depth;
  const std::vector<std::string_view> &m_number_keys;
  Json m_root;
  // the open arrays and objects, innermost last; a parent never grows
  // while a child is open, so these stay valid
  std::vector<Json *> m_stack;
  Json *m_member = nullptr;
  const std::string *m_member_key = nullptr;
  std::vector<std::pair<std::string, std::string>> m_number_texts;
  std::optional<StrictJson::Error> m_error;
};

} // namespace

tl::expected<StrictJson::Parsed, StrictJson::Error>
StrictJson::parse(std::string_view text, int max_depth,
                  const std::vector<std::string_view> &number_keys) {
  Builder builder(text, max_depth, number_keys);
  const bool parsed = Json::sax_parse(text, &builder);
  if (auto error = builder.take_error())
    return tl::unexpected(std::move(*error));
  if (!parsed)
    return tl::unexpected(Error{Failure::syntax, "not JSON"});
  return builder.take_parsed();
}

} // namespace dovewarden::sources
