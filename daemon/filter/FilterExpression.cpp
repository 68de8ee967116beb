#include "filter/FilterExpression.hpp"

#include "util/Glob.hpp"
#include "util/Strings.hpp"

#include <charconv>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace dovewarden::filter {

namespace {

// hostile input gets an error, not a deep recursion or a huge tree
constexpr std::size_t k_max_length = 4096;
constexpr unsigned k_max_depth = 32;

enum class Op { eq, lt, le, gt, ge };

const char *op_name(Op op) {
  switch (op) {
  case Op::eq:
    return "=";
  case Op::lt:
    return "<";
  case Op::le:
    return "<=";
  case Op::gt:
    return ">";
  case Op::ge:
    return ">=";
  }
  return "?";
}

enum class TokenKind {
  word,
  quoted,
  op,
  open,
  close,
  kw_and,
  kw_or,
  kw_not,
  end
};

struct Token {
  TokenKind kind;
  std::size_t position;
  std::string text; // as written; unescaped for quoted
  Op op = Op::eq;
};

using ParseError = FilterExpression::ParseError;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text) {
  std::string out(text);
  for (auto &c : out)
    c = lower(c);
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_word_char(char c) {
  if (static_cast<unsigned char>(c) >= 0x80) // UTF-8 mailbox names
    return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  return std::string_view("_-./:*?@%+$").find(c) != std::string_view::npos;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '/';
}

TokenKind keyword_or_word(std::string_view word) {
  const auto low = lowered(word);
  if (low == "and")
    return TokenKind::kw_and;
  if (low == "or")
    return TokenKind::kw_or;
  if (low == "not")
    return TokenKind::kw_not;
  return TokenKind::word;
}

tl::expected<Token, ParseError> lex_quoted(std::string_view text,
                                           std::size_t &pos) {
  Token token{TokenKind::quoted, pos, {}};
  for (++pos; pos < text.size(); ++pos) {
    if (text[pos] == '"') {
      ++pos;
      return token;
    }
    if (text[pos] == '\\') { // the next character as it is, if there is one
      if (++pos == text.size())
        break;
    }
    token.text += text[pos];
  }
  return tl::unexpected(
      ParseError{token.position, "unterminated quoted string"});
}

// An operator: =, <, <=, > or >=.
Token lex_operator(std::string_view text, std::size_t &pos) {
  const std::size_t start = pos;
  const char c = text[pos++];
  Op op = Op::eq;
  if (c != '=') {
    const bool or_equal = pos < text.size() && text[pos] == '=';
    if (or_equal)
      ++pos;
    op = c == '<' ? (or_equal ? Op::le : Op::lt) : (or_equal ? Op::ge : Op::gt);
  }
  return Token{TokenKind::op, start, op_name(op), op};
}

// A word, or the keyword it spells; an error if no word starts at pos.
tl::expected<Token, ParseError> lex_word(std::string_view text,
                                         std::size_t &pos) {
  const std::size_t start = pos;
  if (!is_word_char(text[pos]))
    return tl::unexpected(ParseError{
        start, "unexpected character " + util::quote(text.substr(pos, 1))});
  while (pos < text.size() && is_word_char(text[pos]))
    ++pos;
  const auto word = text.substr(start, pos - start);
  return Token{keyword_or_word(word), start, std::string(word)};
}

tl::expected<Token, ParseError> lex_one(std::string_view text,
                                        std::size_t &pos) {
  const char c = text[pos];
  if (c == '"')
    return lex_quoted(text, pos);
  if (c == '=' || c == '<' || c == '>')
    return lex_operator(text, pos);
  if (c == '(' || c == ')') {
    const std::size_t start = pos++;
    return Token{c == '(' ? TokenKind::open : TokenKind::close, start,
                 std::string(1, c)};
  }
  return lex_word(text, pos);
}

tl::expected<std::vector<Token>, ParseError> lex(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  while (true) {
    while (pos < text.size() && is_space(text[pos]))
      ++pos;
    if (pos == text.size())
      break;
    auto token = lex_one(text, pos);
    if (!token)
      return tl::unexpected(token.error());
    tokens.push_back(std::move(*token));
  }
  tokens.push_back(Token{TokenKind::end, text.size(), {}});
  return tokens;
}

std::string describe_token(const Token &token) {
  switch (token.kind) {
  case TokenKind::end:
    return "end of filter";
  case TokenKind::quoted:
    return "quoted string " + util::quote(token.text);
  default:
    return util::quote(token.text);
  }
}

std::optional<std::int64_t> parse_number(std::string_view text) {
  std::int64_t number = 0;
  const char *end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, number);
  if (text.empty() || ec != std::errc() || ptr != end)
    return std::nullopt;
  return number;
}

} // namespace

struct FilterExpression::Node {
  enum class Kind { all_of, any_of, negation, comparison };
  enum class Subject { field, type, source };

  Kind kind = Kind::comparison;
  std::vector<Node> children; // all_of, any_of: two or more; negation: one

  Subject subject = Subject::field;
  std::string key;
  Op op = Op::eq;
  std::string pattern; // lowercased, for "="
  std::optional<std::int64_t> number;
};

namespace {

using Node = FilterExpression::Node;
using Result = tl::expected<Node, ParseError>;

class Parser {
public:
  explicit Parser(std::vector<Token> tokens) : m_tokens(std::move(tokens)) {}

  Result parse() {
    auto root = any_of(0);
    if (root && peek().kind != TokenKind::end)
      return fail(peek().kind == TokenKind::close
                      ? "unbalanced parenthesis: no \"(\" opens this \")\""
                      : "unexpected " + describe_token(peek()) +
                            "; join conditions with AND or OR");
    return root;
  }

private:
  const Token &peek() const { return m_tokens[m_next]; }
  const Token &next() {
    const Token &token = m_tokens[m_next];
    if (token.kind != TokenKind::end)
      ++m_next;
    return token;
  }
  tl::unexpected<ParseError> fail(std::string reason) const {
    return fail_at(peek().position, std::move(reason));
  }
  static tl::unexpected<ParseError> fail_at(std::size_t position,
                                            std::string reason) {
    return tl::unexpected(ParseError{position, std::move(reason)});
  }

  Result any_of(unsigned depth) {
    return chain(depth, TokenKind::kw_or, Node::Kind::any_of, &Parser::all_of);
  }
  Result all_of(unsigned depth) {
    return chain(depth, TokenKind::kw_and, Node::Kind::all_of,
                 &Parser::negation);
  }

  // operand (keyword operand)*, flattened into one node
  Result chain(unsigned depth, TokenKind keyword, Node::Kind kind,
               Result (Parser::*operand)(unsigned)) {
    auto first = (this->*operand)(depth);
    if (!first || peek().kind != keyword)
      return first;
    Node node;
    node.kind = kind;
    node.children.push_back(std::move(*first));
    while (peek().kind == keyword) {
      next();
      auto more = (this->*operand)(depth);
      if (!more)
        return more;
      node.children.push_back(std::move(*more));
    }
    return node;
  }

  Result negation(unsigned depth) {
    if (peek().kind != TokenKind::kw_not)
      return primary(depth);
    if (depth == k_max_depth)
      return fail("nested deeper than " + std::to_string(k_max_depth) +
                  " levels");
    next();
    auto operand = negation(depth + 1);
    if (!operand)
      return operand;
    Node node;
    node.kind = Node::Kind::negation;
    node.children.push_back(std::move(*operand));
    return node;
  }

  Result primary(unsigned depth) {
    const Token &token = peek();
    if (token.kind == TokenKind::open) {
      if (depth == k_max_depth)
        return fail("nested deeper than " + std::to_string(k_max_depth) +
                    " levels");
      next();
      auto inner = any_of(depth + 1);
      if (inner && peek().kind != TokenKind::close)
        return peek().kind == TokenKind::end
                   ? fail_at(token.position,
                             "unbalanced parenthesis: no \")\" closes this "
                             "\"(\"")
                   : fail("unexpected " + describe_token(peek()) +
                          "; expected AND, OR or \")\"");
      next();
      return inner;
    }
    if (token.kind == TokenKind::word || token.kind == TokenKind::quoted)
      return comparison();
    if (token.kind == TokenKind::end)
      return fail("expected a condition such as user=alice");
    if (token.kind == TokenKind::close)
      return fail("unexpected \")\"; expected a condition");
    return fail("unexpected " + describe_token(token) +
                "; expected a condition");
  }

  Result comparison() {
    const Token &key = next();
    Node node;
    for (const char c : key.text)
      if (!is_key_char(c))
        return fail_at(key.position,
                       util::quote(key.text) +
                           " is not a field name (letters, digits, \"_\", "
                           "\"-\", \".\", \"/\")");
    if (key.text.empty())
      return fail_at(key.position, "empty field name");
    if (key.text == "category")
      return fail_at(key.position, "categories are not used by dovewarden "
                                   "events; use event=");
    if (key.text == "event")
      node.subject = Node::Subject::type;
    else if (key.text == "source")
      node.subject = Node::Subject::source;
    node.key = key.text;

    const Token &op = peek();
    if (op.kind != TokenKind::op)
      return fail("expected \"=\", \"<\", \"<=\", \">\" or \">=\" after " +
                  util::quote(key.text) + ", found " + describe_token(op));
    next();
    node.op = op.op;
    if (node.subject != Node::Subject::field && node.op != Op::eq)
      return fail_at(op.position, util::quote(key.text) +
                                      " can only be compared with \"=\"");

    // unlike Dovecot, a bare AND/OR/NOT is no value: "user= OR x=1" would
    // otherwise compare user with "OR" and fail later, at a confusing place
    const Token &value = peek();
    if (value.kind == TokenKind::kw_and || value.kind == TokenKind::kw_or ||
        value.kind == TokenKind::kw_not)
      return fail("expected a value after " + util::quote(op.text) +
                  "; quote " + util::quote(value.text) +
                  " to compare with the word");
    if (value.kind != TokenKind::word && value.kind != TokenKind::quoted)
      return fail("expected a value after " + util::quote(op.text));
    next();
    node.pattern = lowered(value.text);
    node.number = parse_number(value.text);
    if (node.op != Op::eq && !node.number)
      return fail_at(value.position, util::quote(op.text) +
                                         " needs a number, found " +
                                         describe_token(value));
    return node;
  }

  std::vector<Token> m_tokens;
  std::size_t m_next = 0;
};

bool text_matches(const Node &node, std::string_view text) {
  return util::glob_match(node.pattern, lowered(text));
}

// field <=> number as -1, 0, 1
template <typename T> int compare(T field, std::int64_t number) {
  if constexpr (std::is_unsigned_v<T>) {
    if (number < 0)
      return 1;
    const auto n = static_cast<std::uint64_t>(number);
    return field < n ? -1 : field > n ? 1 : 0;
  } else {
    const auto n = static_cast<T>(number);
    return field < n ? -1 : field > n ? 1 : 0;
  }
}

bool holds(Op op, int order) {
  switch (op) {
  case Op::eq:
    return order == 0;
  case Op::lt:
    return order < 0;
  case Op::le:
    return order <= 0;
  case Op::gt:
    return order > 0;
  case Op::ge:
    return order >= 0;
  }
  return false;
}

template <typename T> bool number_matches(const Node &node, T field) {
  if (node.number)
    return holds(node.op, compare(field, *node.number));
  if constexpr (std::is_floating_point_v<T>)
    return false;
  else
    return node.op == Op::eq && text_matches(node, std::to_string(field));
}

bool field_matches(const Node &node, const wire::Value &value) {
  return std::visit(
      [&](const auto &field) {
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return node.op == Op::eq && text_matches(node, field);
        } else if constexpr (std::is_same_v<T, wire::Strings>) {
          if (node.op != Op::eq)
            return false;
          for (const auto &element : field)
            if (text_matches(node, element))
              return true;
          return false;
        } else if constexpr (std::is_same_v<T, bool>) {
          return number_matches(node, std::int64_t{field ? 1 : 0});
        } else if constexpr (std::is_arithmetic_v<T>) {
          return number_matches(node, field);
        } else {
          return false; // null, packed
        }
      },
      value);
}

bool evaluate(const Node &node, const core::Event &event) {
  switch (node.kind) {
  case Node::Kind::all_of:
    for (const auto &child : node.children)
      if (!evaluate(child, event))
        return false;
    return true;
  case Node::Kind::any_of:
    for (const auto &child : node.children)
      if (evaluate(child, event))
        return true;
    return false;
  case Node::Kind::negation:
    return !evaluate(node.children.front(), event);
  case Node::Kind::comparison:
    break;
  }
  switch (node.subject) {
  case Node::Subject::type:
    return text_matches(node, event.type());
  case Node::Subject::source:
    return text_matches(node, event.source);
  case Node::Subject::field:
    break;
  }
  const wire::Value *value = event.message.find(node.key);
  return value && field_matches(node, *value);
}

} // namespace

std::string FilterExpression::ParseError::message() const {
  return "at position " + std::to_string(position) + ": " + reason;
}

tl::expected<std::unique_ptr<FilterExpression>, FilterExpression::ParseError>
FilterExpression::parse(std::string_view text) {
  if (text.size() > k_max_length)
    return tl::unexpected(ParseError{
        k_max_length, "filter is longer than " + std::to_string(k_max_length) +
                          " characters"});
  auto tokens = lex(text);
  if (!tokens)
    return tl::unexpected(tokens.error());
  if (tokens->size() == 1)
    return tl::unexpected(ParseError{0, "empty filter"});
  auto root = Parser(std::move(*tokens)).parse();
  if (!root)
    return tl::unexpected(root.error());
  return std::unique_ptr<FilterExpression>(new FilterExpression(
      std::string(text), std::make_unique<Node>(std::move(*root))));
}

FilterExpression::FilterExpression(std::string text, std::unique_ptr<Node> root)
    : m_text(std::move(text)), m_root(std::move(root)) {}

FilterExpression::~FilterExpression() = default;

bool FilterExpression::matches(const core::Event &event) const {
  return evaluate(*m_root, event);
}

std::string FilterExpression::describe() const { return m_text; }

std::vector<std::string> FilterExpression::fields() const {
  std::vector<std::string> names;
  std::vector<const Node *> pending{m_root.get()};
  while (!pending.empty()) {
    const Node *node = pending.back();
    pending.pop_back();
    if (node->kind == Node::Kind::comparison &&
        node->subject == Node::Subject::field)
      names.push_back(node->key);
    for (auto child = node->children.rbegin(); child != node->children.rend();
         ++child)
      pending.push_back(&*child);
  }
  return names;
}

} // namespace dovewarden::filter
