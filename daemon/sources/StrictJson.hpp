#pragma once

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dovewarden::sources {

// Reads one JSON value into ordered JSON (members keep their order) in time
// linear in the input's size: nlohmann's own ordered parse looks each new
// key up among the keys before it, so that an object of n keys takes n²/2
// comparisons. Refuses what no event_exporter body holds and what would
// mean different things to different readers: a key twice in one object,
// and a number outside a double's range.
class StrictJson {
public:
  using Json = nlohmann::ordered_json;

  enum class Failure {
    syntax,        // not one JSON value (trailing bytes included)
    truncated,     // ends too early
    too_deep,      // nested deeper than max_depth
    duplicate_key, // one object has a key twice
    bad_number,    // a number outside a double's range (1e400)
  };
  struct Error {
    Failure failure;
    std::string message; // one line
  };
  struct Parsed {
    Json root;
    // the text of the numbers that the root object holds under the keys
    // asked for, as written: a double cannot tell how it was written
    std::vector<std::pair<std::string, std::string>> number_texts;
  };

  StrictJson() = delete;

  // Parses text, nested at most max_depth levels. Keeps the text of the
  // root object's numbers under number_keys.
  static tl::expected<Parsed, Error>
  parse(std::string_view text, int max_depth,
        const std::vector<std::string_view> &number_keys = {});
};

} // namespace dovewarden::sources
