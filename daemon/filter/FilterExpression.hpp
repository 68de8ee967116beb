#pragma once

#include "filter/EventFilter.hpp"

#include <tl/expected.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::filter {

// A filter in Dovecot's event-filter syntax, applied to an event's type
// ("event=message.*") and fields ("user=*@example.com AND mailbox=INBOX",
// "size>1000"): AND, OR, NOT, parentheses, "*" and "?" wildcards, quoted
// values, numeric < <= > >= (docs/webhooks.md lists the rules).
class FilterExpression final : public EventFilter {
public:
  struct ParseError {
    std::size_t position; // 0-based offset into the text
    std::string reason;
    // Returns "at position N: reason".
    std::string message() const;
  };

  // Returns the parsed filter, or where and why text does not parse.
  static tl::expected<std::unique_ptr<FilterExpression>, ParseError>
  parse(std::string_view text);

  ~FilterExpression() override;
  bool matches(const core::Event &event) const override;
  std::string describe() const override;

  // Returns the field names the filter compares, in order of appearance
  // (not "event" nor "source", which are no fields).
  std::vector<std::string> fields() const;

  struct Node;

private:
  FilterExpression(std::string text, std::unique_ptr<Node> root);

  std::string m_text;
  std::unique_ptr<Node> m_root;
};

} // namespace dovewarden::filter
