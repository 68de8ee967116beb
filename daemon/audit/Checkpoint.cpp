#include "audit/Checkpoint.hpp"

#include "util/Base64.hpp"
#include "util/Fatal.hpp"
#include "util/PrivateFiles.hpp"
#include "util/Sha256.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace dovewarden::audit {

namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

constexpr std::string_view k_signature_prefix = "\xe2\x80\x94 "; // U+2014, ' '
constexpr char k_ed25519_type = 0x01;
constexpr std::size_t k_public_key_size = 32;
constexpr std::size_t k_key_id_size = 4;
constexpr std::size_t k_signature_size = 64;
constexpr std::size_t k_hash_size = 32;
constexpr std::size_t k_max_key_file = std::size_t{64} * 1024;
constexpr std::size_t k_max_signatures = 100;

tl::unexpected<std::string> failure(std::string text) {
  return tl::unexpected(std::move(text));
}

std::string file_failure(const char *what, const std::string &path,
                         int errnum) {
  return std::string(what) + " " + util::quote(path) + ": " +
         util::error_text(errnum);
}

// Signed notes allow no control character but the newline.
bool has_control_but_newline(std::string_view text) {
  for (const unsigned char c : text)
    if (c < 0x20 && c != '\n')
      return true;
  return false;
}

// A key name is not empty and holds no space and no '+' (signed-note).
bool valid_key_name(std::string_view name) {
  if (name.empty() || util::has_control(name))
    return false;
  for (const char c : name)
    if (c == ' ' || c == '+')
      return false;
  return true;
}

std::string key_id(const std::string &key_name, const std::string &public_key) {
  const auto digest =
      util::sha256(key_name + '\n' + k_ed25519_type + public_key);
  return std::string(reinterpret_cast<const char *>(digest.data()),
                     k_key_id_size);
}

std::string verifier_key_of(const std::string &key_name,
                            const std::string &public_key) {
  return key_name + '+' + util::to_hex(key_id(key_name, public_key)) + '+' +
         util::base64_encode(k_ed25519_type + public_key);
}

std::string body_of(const std::string &origin, std::uint64_t size,
                    const std::string &hash) {
  return origin + '\n' + std::to_string(size) + '\n' +
         util::base64_encode(util::from_hex(hash)) + '\n';
}

std::string raw_public_key(EVP_PKEY *key) {
  std::string bytes(k_public_key_size, '\0');
  std::size_t size = bytes.size();
  if (EVP_PKEY_get_raw_public_key(
          key, reinterpret_cast<unsigned char *>(bytes.data()), &size) != 1 ||
      size != k_public_key_size)
    throw util::Fatal("EVP_PKEY_get_raw_public_key(ED25519) failed");
  return bytes;
}

// Never asks for a passphrase on the terminal: an encrypted key is refused.
int no_passphrase(char *, int, int, void *) { return 0; }

tl::expected<Pkey, std::string> parse_private_key(const std::string &pem,
                                                  const std::string &path) {
  const Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                &BIO_free);
  if (!bio)
    throw util::Fatal("BIO_new_mem_buf failed");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr),
           &EVP_PKEY_free);
  if (!key) {
    ERR_clear_error(); // leave no stale error for the next OpenSSL user
    return failure(util::quote(path) +
                   " is not a PEM private key (unencrypted, as `openssl "
                   "genpkey -algorithm ed25519` writes it)");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    return failure(util::quote(path) + " is not an Ed25519 key");
  return key;
}

// Reads the key file, refusing one that anyone but its owner may use.
tl::expected<Pkey, std::string> read_private_key(const std::string &path) {
  auto pem = util::read_secret_file(path, k_max_key_file, true);
  if (!pem && pem.error().errnum == ELOOP)
    return failure(util::quote(path) +
                   " is a symbolic link: name the key file itself");
  if (!pem && pem.error().errnum != 0)
    return failure(file_failure("cannot read", path, pem.error().errnum));
  if (!pem)
    return failure(util::quote(path) + " is mode " +
                   util::octal_mode(pem.error().mode) +
                   ": the audit key must be dovewardend's user's alone "
                   "(chmod 600 " +
                   path + ")");
  auto key = parse_private_key(*pem, path);
  OPENSSL_cleanse(pem->data(), pem->size());
  return key;
}

std::string pem_of(EVP_PKEY *key) {
  const Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1)
    throw util::Fatal("PEM_write_bio_PrivateKey(ED25519) failed");
  char *data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Makes a new key in path, 0600, and its directory, 0700, if missing; a key
// that appeared meanwhile is kept.
tl::expected<void, std::string> create_private_key(const std::string &path) {
  auto directory = std::filesystem::path(path).parent_path().string();
  if (!directory.empty() && ::access(directory.c_str(), F_OK) != 0)
    if (auto made = util::make_private_directory(directory); !made)
      return made;
  const Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"),
                 &EVP_PKEY_free);
  if (!key)
    throw util::Fatal("EVP_PKEY_Q_keygen(ED25519) failed");
  std::string pem = pem_of(key.get());
  auto created = util::create_private_file(path, pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  return created;
}

// Leaves path holding text, mode 0644, replacing it if it differs.
tl::expected<void, std::string> write_public_file(const std::string &path,
                                                  const std::string &text) {
  struct stat status {};
  std::ifstream in(path, std::ios::binary);
  const std::string current((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  if (current == text && ::stat(path.c_str(), &status) == 0 &&
      (status.st_mode & 07777) == 0644)
    return {};
  return util::replace_file(path, text, 0644);
}

std::string sign_bytes(EVP_PKEY *key, std::string_view message) {
  const MdContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string signature(k_signature_size, '\0');
  std::size_t size = signature.size();
  // Ed25519 hashes the message itself: no digest is named
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(context.get(),
                     reinterpret_cast<unsigned char *>(signature.data()), &size,
                     reinterpret_cast<const unsigned char *>(message.data()),
                     message.size()) != 1 ||
      size != k_signature_size)
    throw util::Fatal("EVP_DigestSign(ED25519) failed");
  return signature;
}

bool verify_bytes(const std::string &public_key, std::string_view message,
                  std::string_view signature) {
  const Pkey key(EVP_PKEY_new_raw_public_key(
                     EVP_PKEY_ED25519, nullptr,
                     reinterpret_cast<const unsigned char *>(public_key.data()),
                     public_key.size()),
                 &EVP_PKEY_free);
  const MdContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!key || !context ||
      EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr,
                           key.get()) != 1)
    throw util::Fatal("EVP_DigestVerifyInit(ED25519) failed");
  const bool verified =
      EVP_DigestVerify(
          context.get(),
          reinterpret_cast<const unsigned char *>(signature.data()),
          signature.size(),
          reinterpret_cast<const unsigned char *>(message.data()),
          message.size()) == 1;
  ERR_clear_error();
  return verified;
}

// base64 that encodes back to the same text: one spelling for each value
tl::expected<std::string, std::string> strict_base64(std::string_view text) {
  auto bytes = util::base64_decode(text);
  if (bytes && util::base64_encode(*bytes) != text)
    return failure("not canonical base64");
  return bytes;
}

tl::expected<std::uint64_t, std::string> parse_size(std::string_view text) {
  if (text.size() > 1 && text[0] == '0')
    return failure("a size with a leading zero");
  return util::parse_unsigned(text, UINT64_MAX);
}

// Reads a checkpoint's first three lines: origin, size, hash.
tl::expected<Checkpoint, std::string> parse_body(std::string_view text) {
  std::array<std::string_view, 3> lines;
  for (auto &line : lines) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos)
      return failure("its text is not a checkpoint (origin, size and hash "
                     "lines)");
    line = text.substr(0, end);
    text.remove_prefix(end + 1);
  }
  Checkpoint checkpoint;
  if (lines[0].empty())
    return failure("its origin line is empty");
  checkpoint.origin = std::string(lines[0]);
  const auto size = parse_size(lines[1]);
  if (!size)
    return failure("its size line is not a number: " + size.error());
  checkpoint.size = *size;
  const auto hash = strict_base64(lines[2]);
  if (!hash || hash->size() != k_hash_size)
    return failure("its hash line is not the base64 of 32 bytes");
  checkpoint.hash = util::to_hex(*hash);
  return checkpoint;
}

} // namespace

std::string Checkpoint::body() const { return body_of(origin, size, hash); }

struct CheckpointSigner::Key {
  Pkey pkey{nullptr, &EVP_PKEY_free};
  std::string key_id; // 4 bytes
};

CheckpointSigner::CheckpointSigner(std::unique_ptr<Key> key,
                                   std::string key_name,
                                   std::string verifier_key)
    : m_key(std::move(key)), m_key_name(std::move(key_name)),
      m_verifier_key(std::move(verifier_key)) {}

CheckpointSigner::CheckpointSigner(CheckpointSigner &&) noexcept = default;
CheckpointSigner &
CheckpointSigner::operator=(CheckpointSigner &&) noexcept = default;
CheckpointSigner::~CheckpointSigner() = default;

tl::expected<CheckpointSigner, std::string>
CheckpointSigner::load(const std::string &path, std::string key_name) {
  if (!valid_key_name(key_name))
    return failure("cannot sign checkpoints with the key " + util::quote(path) +
                   " under the name " + util::quote(key_name) +
                   ": a key name must not be empty nor hold spaces or '+'");
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    if (errno != ENOENT)
      return failure(file_failure("cannot read", path, errno));
    if (auto created = create_private_key(path); !created)
      return failure(created.error());
  }
  auto pkey = read_private_key(path);
  if (!pkey)
    return failure(pkey.error());
  const auto public_key = raw_public_key(pkey->get());
  auto verifier_key = verifier_key_of(key_name, public_key);
  if (auto written = write_public_file(path + ".pub", verifier_key + '\n');
      !written)
    return failure(written.error());
  auto key = std::make_unique<Key>();
  key->pkey = std::move(*pkey);
  key->key_id = key_id(key_name, public_key);
  return CheckpointSigner(std::move(key), std::move(key_name),
                          std::move(verifier_key));
}

Checkpoint CheckpointSigner::sign(const std::string &origin, std::uint64_t size,
                                  const std::string &hash,
                                  std::int64_t time) const {
  if (origin.empty() || util::has_control(origin))
    throw std::invalid_argument("audit checkpoint: bad origin " +
                                util::quote(origin));
  if (hash.size() != 2 * k_hash_size || util::from_hex(hash).empty())
    throw std::invalid_argument("audit checkpoint: bad hash " +
                                util::quote(hash));
  Checkpoint checkpoint{origin, size, hash, time, {}};
  const auto text = checkpoint.body();
  const auto signature = sign_bytes(m_key->pkey.get(), text);
  checkpoint.note = text + '\n' + std::string(k_signature_prefix) + m_key_name +
                    ' ' + util::base64_encode(m_key->key_id + signature) + '\n';
  return checkpoint;
}

CheckpointVerifier::CheckpointVerifier(std::string key_name,
                                       std::string public_key)
    : m_key_name(std::move(key_name)), m_public_key(std::move(public_key)) {}

tl::expected<CheckpointVerifier, std::string>
CheckpointVerifier::parse(const std::string &verifier_key) {
  // as a .pub file holds it: one line
  auto text = std::string_view(verifier_key);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  text = util::trim(text);
  // name+id+key: the name holds no '+', the base64 may
  const auto first = text.find('+');
  const auto second = first == std::string_view::npos
                          ? std::string_view::npos
                          : text.find('+', first + 1);
  const auto bad = [&](const std::string &why) {
    return failure(util::quote(text) +
                   " is not a verifier key (name+id+base64 of the Ed25519 "
                   "public key): " +
                   why);
  };
  if (second == std::string_view::npos)
    return bad("it does not have three parts");
  const std::string name(text.substr(0, first));
  const auto id = text.substr(first + 1, second - first - 1);
  if (!valid_key_name(name))
    return bad("its name is empty or holds spaces");
  const auto key = strict_base64(text.substr(second + 1));
  if (!key)
    return bad("its key is not base64");
  if (key->size() != 1 + k_public_key_size || (*key)[0] != k_ed25519_type)
    return bad("its key is not an Ed25519 key");
  auto public_key = key->substr(1);
  if (id.size() != 2 * k_key_id_size ||
      id != util::to_hex(key_id(name, public_key)))
    return bad("its id does not match its name and key");
  return CheckpointVerifier(name, std::move(public_key));
}

tl::expected<Checkpoint, std::string>
CheckpointVerifier::open(const std::string &note) const {
  if (has_control_but_newline(note))
    return failure("the note holds a control character");
  const auto split = note.rfind("\n\n");
  if (split == std::string::npos || note.back() != '\n')
    return failure("the note has no signature lines");
  const std::string_view text(note.data(), split + 1);
  std::string_view signatures(note);
  signatures.remove_prefix(split + 2);
  const auto our_id = key_id(m_key_name, m_public_key);
  std::size_t count = 0;
  bool verified = false;
  while (!signatures.empty()) {
    if (++count > k_max_signatures)
      return failure("the note has more than " +
                     std::to_string(k_max_signatures) + " signatures");
    const auto end = signatures.find('\n');
    auto line = signatures.substr(0, end);
    signatures.remove_prefix(end + 1);
    if (line.substr(0, k_signature_prefix.size()) != k_signature_prefix)
      return failure("a signature line does not start with an em dash");
    line.remove_prefix(k_signature_prefix.size());
    const auto space = line.find(' ');
    if (space == std::string_view::npos)
      return failure("a signature line has no signature");
    const auto name = line.substr(0, space);
    const auto signature = strict_base64(line.substr(space + 1));
    if (!valid_key_name(name) || !signature ||
        signature->size() <= k_key_id_size)
      return failure("a signature line is malformed");
    // other keys' signatures (witnesses) are not ours to check
    if (name != m_key_name || signature->compare(0, k_key_id_size, our_id) != 0)
      continue;
    if (!verify_bytes(m_public_key, text,
                      std::string_view(*signature).substr(k_key_id_size)))
      return failure("the signature of " + m_key_name + " does not match");
    verified = true;
  }
  if (!verified)
    return failure("the note is not signed by the key " + m_key_name);
  auto checkpoint = parse_body(text);
  if (!checkpoint)
    return checkpoint;
  checkpoint->note = note;
  return checkpoint;
}

} // namespace dovewarden::audit
