#pragma once

#include "FreePort.hpp"
#include "Wait.hpp"
#include "core/Event.hpp"
#include "shared/wire.hpp"

#include <boost/test/unit_test.hpp>
#include <tl/expected.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace dovewarden::test {

// Returns the bytes that hex (white space ignored) spells.
inline std::string from_hex(std::string_view hex) {
  std::string bytes;
  std::string pair;
  for (const char c : hex) {
    if (c == ' ' || c == '\n')
      continue;
    pair += c;
    if (pair.size() == 2) {
      bytes += static_cast<char>(std::strtoul(pair.c_str(), nullptr, 16));
      pair.clear();
    }
  }
  return bytes;
}

// The first code block after the line containing marker in
// docs/wire-format.md, its lines joined: the tests read the test vector from
// the document itself, so that the two cannot drift apart.
inline std::string wire_doc_block(std::string_view marker) {
  std::ifstream doc(DOVEWARDEN_TOP_SRCDIR "/docs/wire-format.md");
  std::string line, block;
  bool after_marker = false, in_block = false;
  while (std::getline(doc, line)) {
    if (!after_marker) {
      after_marker = line.find(marker) != std::string::npos;
    } else if (line.rfind("```", 0) == 0) {
      if (in_block)
        return block;
      in_block = true;
    } else if (in_block) {
      block += line;
    }
  }
  throw std::runtime_error("docs/wire-format.md: no code block after " +
                           std::string(marker));
}

// The bytes of the test vector.
inline std::string vector_bytes() {
  return from_hex(wire_doc_block("bytes, hex:"));
}

// The stream line the document gives for the test vector.
inline std::string vector_json() { return wire_doc_block("one JSON line"); }

// The test vector as the daemon receives it from the plugin, now.
inline core::Event vector_event() {
  auto decoded = wire::decode(vector_bytes());
  BOOST_REQUIRE(decoded);
  return core::Event{std::move(*decoded), "zmq",
                     std::chrono::system_clock::now()};
}

// Returns the whole file at path. Throws std::runtime_error if it cannot be
// read.
inline std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory under /tmp, removed with what it holds at the end of its
// scope. Fails the test if it cannot be made.
class TempDir {
public:
  TempDir() {
    char name[] = "/tmp/dovewarden-test-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name) != nullptr);
    m_path = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return m_path; }
  // Writes text into the file name in the directory. Returns its path.
  std::string write(const std::string &name, const std::string &text) const {
    const auto file = m_path + "/" + name;
    std::ofstream(file) << text;
    return file;
  }

private:
  std::string m_path;
};

// Returns the value of result; fails the test with its error (a text, or
// anything else that prints) if it holds none.
template <typename T, typename E> T ok(tl::expected<T, E> result) {
  BOOST_REQUIRE_MESSAGE(result.has_value(), (result ? E() : result.error()));
  return std::move(*result);
}

template <typename E> void ok(tl::expected<void, E> result) {
  BOOST_REQUIRE_MESSAGE(result.has_value(), (result ? E() : result.error()));
}

} // namespace dovewarden::test
