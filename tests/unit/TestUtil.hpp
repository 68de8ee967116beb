#pragma once

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

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
inline std::string vector_json() {
  return wire_doc_block("one JSON line");
}

} // namespace dovewarden::test
