#pragma once

#include <cstdlib>
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

// The test vector of docs/wire-format.md.
constexpr std::string_view k_vector_hex =
    "de0010a17601a474797065ae6d6573736167652e617070656e64a27473cf0006"
    "60e296e0c170a4686f7374a36d7831a3737663a4696d6170a3706964cd1092a4"
    "696e7374b039663363326131623564376538663630a373657107a77365737369"
    "6f6eb0443262676c754a67754d702f41414142a475736572a5616c696365a269"
    "70a93132372e302e302e31a66f726967696ea6636c69656e74a76d61696c626f"
    "78a5494e424f58a375696401ab75696476616c6964697479ce6b03442ba5666c"
    "61677391a55c5365656e";

// The stream line docs/wire-format.md gives for the test vector.
constexpr std::string_view k_vector_json =
    R"({"type":"message.append","ts":1795376170451312,"host":"mx1","svc":"imap","pid":4242,"inst":"9f3c2a1b5d7e8f60","seq":7,"session":"D2bgluJguMp/AAAB","user":"alice","ip":"127.0.0.1","origin":"client","mailbox":"INBOX","uid":1,"uidvalidity":1795376171,"flags":["\\Seen"]})";

} // namespace dovewarden::test
