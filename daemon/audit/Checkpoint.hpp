#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace dovewarden::audit {

// A signed statement that a chain had `size` records and its head hash was
// `hash` (the hash of record `size`), in the format of the C2SP signed
// checkpoint (c2sp.org/tlog-checkpoint, signed note c2sp.org/signed-note):
//
//   <origin>\n<size>\n<base64 of the 32 hash bytes>\n
//   \n
//   — <key name> <base64 of 4 key id bytes + 64 Ed25519 signature bytes>\n
//
// The key id is the first 4 bytes of SHA-256(key name, "\n", 0x01, the 32
// public key bytes), as signed notes have it.
struct Checkpoint {
  std::string origin; // the chain's name, e.g. "mx1.example.com/audit"
  std::uint64_t size = 0;
  std::string hash;      // 64 hex digits
  std::int64_t time = 0; // when it was signed, µs since the epoch (not signed)
  std::string note;      // the signed note, as above

  // Returns the note's body: its first three lines, each ending in "\n".
  std::string body() const;
};

// An Ed25519 key pair through OpenSSL: signs checkpoints.
class CheckpointSigner {
public:
  // Reads the PEM private key in path (as `openssl genpkey -algorithm
  // ed25519` writes it), or creates it (mode 0600, its directory 0700) if
  // it does not exist, and writes the public key beside it as path + ".pub"
  // (mode 0644) in the verifier key format below. Returns an error text
  // naming path if it cannot, if the key is not Ed25519, or if others may
  // read it.
  static tl::expected<CheckpointSigner, std::string>
  load(const std::string &path, std::string key_name);

  CheckpointSigner(CheckpointSigner &&) noexcept;
  CheckpointSigner &operator=(CheckpointSigner &&) noexcept;
  ~CheckpointSigner();

  // Returns a checkpoint of origin at size and hash, signed, dated time.
  Checkpoint sign(const std::string &origin, std::uint64_t size,
                  const std::string &hash, std::int64_t time) const;

  // Returns the public key in the signed-note verifier key format:
  // "<name>+<8 hex digits of key id>+<base64 of 0x01 and the 32 bytes>".
  const std::string &verifier_key() const { return m_verifier_key; }

private:
  struct Key;
  CheckpointSigner(std::unique_ptr<Key> key, std::string key_name,
                   std::string verifier_key);

  std::unique_ptr<Key> m_key;
  std::string m_key_name;
  std::string m_verifier_key;
};

// Checks checkpoints against a public key alone: what verifies a log off the
// host.
class CheckpointVerifier {
public:
  // Reads a verifier key (CheckpointSigner::verifier_key()). Returns an
  // error text if it is not one.
  static tl::expected<CheckpointVerifier, std::string>
  parse(const std::string &verifier_key);

  // Parses a note. Returns the checkpoint it states, or why it is not a
  // checkpoint signed by this key (a bad format, another key, a signature
  // that does not match).
  tl::expected<Checkpoint, std::string> open(const std::string &note) const;

  const std::string &key_name() const { return m_key_name; }

private:
  CheckpointVerifier(std::string key_name, std::string public_key);

  std::string m_key_name;
  std::string m_public_key; // 32 bytes
};

} // namespace dovewarden::audit
