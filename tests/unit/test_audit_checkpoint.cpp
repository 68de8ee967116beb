#include "TestUtil.hpp"
#include "audit/Checkpoint.hpp"
#include "util/Base64.hpp"
#include "util/Sha256.hpp"

#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

using dovewarden::audit::Checkpoint;
using dovewarden::audit::CheckpointSigner;
using dovewarden::audit::CheckpointVerifier;
using dovewarden::test::ok;
using dovewarden::test::read_file;
using dovewarden::test::TempDir;
using dovewarden::util::base64_encode;
using dovewarden::util::from_hex;

namespace {

// The key of the reference example of Go's golang.org/x/mod/sumdb/note
// (PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV...), written as PKCS#8 PEM by
// Python's cryptography, with its published verifier key and note.
constexpr const char *k_peter_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIIEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz\n"
    "-----END PRIVATE KEY-----\n";
constexpr const char *k_peter_vkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr const char *k_peter_note =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGU"
    "gYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// A checkpoint signed with that key by Python's cryptography (and, byte for
// byte, by `openssl pkeyutl -sign -rawin`): Ed25519 is deterministic, so
// CheckpointSigner must write the same note.
constexpr const char *k_peter_hash = // sha256("dovewarden")
    "c0fbefb6be2cc5b45cf2bd80c676493fe34b7f559c92670e60e6707c8cb58dce";
constexpr const char *k_peter_checkpoint =
    "PeterNeumann\n"
    "17\n"
    "wPvvtr4sxbRc8r2AxnZJP+NLf1WckmcOYOZwfIy1jc4=\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go4ip8VVycN/pIH21ij/DfIr7dy0KZ4kXUPDujRNimjrp"
    "RnmejgEbWFxFlPsc6agLaxYKQ1pw3HsPkMgH3eRueww=\n";

// A key made by `openssl genpkey -algorithm ed25519`, and a checkpoint whose
// signature `openssl pkeyutl -sign -rawin -inkey KEY -in BODY` made; its
// key id computed with Python's hashlib.
constexpr const char *k_openssl_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIPoOOVQtS3UczL2hwFp23hqZOPbohCuJEwv0vqp2WiNc\n"
    "-----END PRIVATE KEY-----\n";
constexpr const char *k_openssl_name = "mx1.example.com/dovewarden/audit";
constexpr const char *k_openssl_vkey =
    "mx1.example.com/dovewarden/audit+cda6c1a5+"
    "AZso86zyKUGWIFGJa70ASVTGXBuuac2zhcQ+jjRuPYxm";
constexpr const char *k_openssl_hash = // sha256("dovewarden-openssl")
    "0525d215065d7a51ddfe527087cb28782a7eb6757afb24481ca0ae2e30e8acfe";
constexpr const char *k_openssl_checkpoint =
    "mx1.example.com/dovewarden/audit\n"
    "10000\n"
    "BSXSFQZdelHd/lJwh8soeCp+tnV6+yRIHKCuLjDorP4=\n"
    "\n"
    "\xe2\x80\x94 mx1.example.com/dovewarden/audit "
    "zabBpT4Xw7SvNTP8zJqkiPbHTeS94Y"
    "bPfbR0ftKXgZSPCOeA8RSkXOCbDKeD7wmeiAxTDIPa2wVEo1R1apgwSQhfXQY=\n";

// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
constexpr const char *k_p256_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwjgkePX62a+XOiTF\n"
    "TnriBFm7atQyIsX/bnQRkUnaPumhRANCAAQ9Vzv2zT4Z0bQhRKQUGOT47ReCq6pl\n"
    "4wG8f0IlCG2cm0fcchvBuh+CRnrBrejqPTk4NfEB6/oAO9RU/L9uKnrM\n"
    "-----END PRIVATE KEY-----\n";

const std::string k_hash(64, 'a');
constexpr const char *k_origin = "mx1.example.com/dovewarden/audit";

unsigned mode_of(const std::string &path) {
  struct stat status {};
  BOOST_REQUIRE(::stat(path.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

std::string private_file(const TempDir &dir, const std::string &name,
                         const std::string &text) {
  const auto path = dir.write(name, text);
  ::chmod(path.c_str(), 0600);
  return path;
}

CheckpointSigner new_signer(const TempDir &dir,
                            const std::string &name = k_origin) {
  return ok(CheckpointSigner::load(dir.path() + "/audit.key", name));
}

CheckpointVerifier verifier_of(const CheckpointSigner &signer) {
  return ok(CheckpointVerifier::parse(signer.verifier_key()));
}

std::string error_of(const tl::expected<Checkpoint, std::string> &opened) {
  BOOST_REQUIRE(!opened);
  return opened.error();
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// Returns text signed as a note by the key k_openssl_pem, with OpenSSL
// directly: texts a CheckpointSigner never writes.
std::string openssl_signed(const std::string &text) {
  using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
  using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
  using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
  const Bio pem(BIO_new_mem_buf(k_openssl_pem, -1), &BIO_free);
  const Pkey key(PEM_read_bio_PrivateKey(pem.get(), nullptr, nullptr, nullptr),
                 &EVP_PKEY_free);
  const Context context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string signature(64, '\0');
  std::size_t size = signature.size();
  BOOST_REQUIRE(key && context);
  BOOST_REQUIRE(EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr,
                                   key.get()) == 1);
  BOOST_REQUIRE(
      EVP_DigestSign(context.get(),
                     reinterpret_cast<unsigned char *>(signature.data()), &size,
                     reinterpret_cast<const unsigned char *>(text.data()),
                     text.size()) == 1);
  return text + "\n\xe2\x80\x94 " + k_openssl_name + " " +
         base64_encode(from_hex("cda6c1a5") + signature) + "\n";
}

} // namespace

BOOST_AUTO_TEST_SUITE(audit_checkpoint)

BOOST_AUTO_TEST_CASE(body_is_origin_size_and_base64_hash_lines) {
  const Checkpoint checkpoint{"example.com/log", 17, k_peter_hash, 5, ""};
  BOOST_TEST(checkpoint.body() ==
             "example.com/log\n17\nwPvvtr4sxbRc8r2AxnZJP+NLf1WckmcOYOZwfIy1jc4="
             "\n");
}

BOOST_AUTO_TEST_CASE(signs_as_the_reference_implementations_do) {
  const TempDir dir;
  const auto signer = ok(CheckpointSigner::load(
      private_file(dir, "peter.key", k_peter_pem), "PeterNeumann"));
  BOOST_TEST(signer.verifier_key() == k_peter_vkey);
  const auto checkpoint = signer.sign("PeterNeumann", 17, k_peter_hash, 1234);
  BOOST_TEST(checkpoint.note == k_peter_checkpoint);
  BOOST_TEST(checkpoint.origin == "PeterNeumann");
  BOOST_TEST(checkpoint.size == 17u);
  BOOST_TEST(checkpoint.hash == k_peter_hash);
  BOOST_TEST(checkpoint.time == 1234);
}

BOOST_AUTO_TEST_CASE(signs_with_a_key_openssl_made) {
  const TempDir dir;
  const auto signer = ok(CheckpointSigner::load(
      private_file(dir, "openssl.key", k_openssl_pem), k_openssl_name));
  BOOST_TEST(signer.verifier_key() == k_openssl_vkey);
  BOOST_TEST(signer.sign(k_openssl_name, 10000, k_openssl_hash, 0).note ==
             k_openssl_checkpoint);
}

BOOST_AUTO_TEST_CASE(opens_a_checkpoint_openssl_signed) {
  const auto verifier = ok(CheckpointVerifier::parse(k_openssl_vkey));
  BOOST_TEST(verifier.key_name() == k_openssl_name);
  const auto checkpoint = ok(verifier.open(k_openssl_checkpoint));
  BOOST_TEST(checkpoint.origin == k_openssl_name);
  BOOST_TEST(checkpoint.size == 10000u);
  BOOST_TEST(checkpoint.hash == k_openssl_hash);
  BOOST_TEST(checkpoint.note == k_openssl_checkpoint);
}

BOOST_AUTO_TEST_CASE(checks_the_reference_note_signature_before_its_text) {
  const auto verifier = ok(CheckpointVerifier::parse(k_peter_vkey));
  // signed, but two lines of prose: not a checkpoint
  const auto prose = error_of(verifier.open(k_peter_note));
  BOOST_TEST(contains(prose, "not a checkpoint"), prose);
  std::string altered = k_peter_note;
  altered[3] = 'Y';
  const auto forged = error_of(verifier.open(altered));
  BOOST_TEST(contains(forged, "does not match"), forged);
  BOOST_TEST(ok(verifier.open(k_peter_checkpoint)).size == 17u);
}

BOOST_AUTO_TEST_CASE(load_creates_a_private_key_and_a_public_file) {
  const TempDir dir;
  const auto path = dir.path() + "/keys/audit.key";
  const auto signer = ok(CheckpointSigner::load(path, k_origin));
  BOOST_TEST(mode_of(dir.path() + "/keys") == 0700u);
  BOOST_TEST(mode_of(path) == 0600u);
  BOOST_TEST(contains(read_file(path), "-----BEGIN PRIVATE KEY-----"));
  BOOST_TEST(mode_of(path + ".pub") == 0644u);
  BOOST_TEST(read_file(path + ".pub") == signer.verifier_key() + "\n");
  BOOST_TEST(signer.verifier_key().rfind(std::string(k_origin) + "+", 0) == 0);
  BOOST_TEST(verifier_of(signer).key_name() == k_origin);
}

BOOST_AUTO_TEST_CASE(load_reads_the_key_it_created) {
  const TempDir dir;
  const auto first = new_signer(dir);
  ::unlink((dir.path() + "/audit.key.pub").c_str());
  const auto second = new_signer(dir);
  BOOST_TEST(second.verifier_key() == first.verifier_key());
  BOOST_TEST(read_file(dir.path() + "/audit.key.pub") ==
             first.verifier_key() + "\n");
  const auto checkpoint = second.sign(k_origin, 3, k_hash, 0);
  BOOST_TEST(ok(verifier_of(first).open(checkpoint.note)).size == 3u);
}

BOOST_AUTO_TEST_CASE(load_makes_a_new_key_for_each_missing_file) {
  const TempDir one, two;
  BOOST_TEST(new_signer(one).verifier_key() != new_signer(two).verifier_key());
}

BOOST_AUTO_TEST_CASE(load_rewrites_a_public_file_that_does_not_match) {
  const TempDir dir;
  const auto pub = dir.write("audit.key.pub", "someone else's key\n");
  ::chmod(pub.c_str(), 0600);
  const auto signer = new_signer(dir);
  BOOST_TEST(read_file(pub) == signer.verifier_key() + "\n");
  BOOST_TEST(mode_of(pub) == 0644u);
}

BOOST_AUTO_TEST_CASE(load_refuses_a_key_others_may_read) {
  for (const unsigned mode : {0644u, 0640u, 0604u, 0620u}) {
    const TempDir dir;
    const auto path = dir.write("audit.key", k_openssl_pem);
    ::chmod(path.c_str(), mode);
    const auto refused = CheckpointSigner::load(path, k_origin);
    BOOST_REQUIRE(!refused);
    BOOST_TEST(contains(refused.error(), "\"" + path + "\""), refused.error());
    BOOST_TEST(contains(refused.error(), "chmod 600"), refused.error());
  }
}

BOOST_AUTO_TEST_CASE(load_refuses_a_link_to_the_key) {
  const TempDir dir;
  const auto key = private_file(dir, "real.key", k_openssl_pem);
  const auto link = dir.path() + "/audit.key";
  BOOST_REQUIRE(::symlink(key.c_str(), link.c_str()) == 0);
  const auto refused = CheckpointSigner::load(link, k_origin);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(contains(refused.error(), "\"" + link + "\" is a symbolic link"),
             refused.error());
}

BOOST_AUTO_TEST_CASE(load_refuses_what_is_not_an_ed25519_key) {
  const TempDir dir;
  for (const auto &[name, text] :
       {std::pair<std::string, std::string>{"ec.key", k_p256_pem},
        {"text.key", "not a key\n"},
        {"empty.key", ""}}) {
    const auto path = private_file(dir, name, text);
    const auto refused = CheckpointSigner::load(path, k_origin);
    BOOST_REQUIRE(!refused);
    BOOST_TEST(contains(refused.error(), path), refused.error());
  }
  const auto ec = CheckpointSigner::load(dir.path() + "/ec.key", k_origin);
  BOOST_TEST(contains(ec.error(), "not an Ed25519 key"), ec.error());
}

BOOST_AUTO_TEST_CASE(load_says_why_it_cannot_create_the_key) {
  const TempDir dir;
  const auto path = dir.path() + "/missing/parent/audit.key";
  const auto refused = CheckpointSigner::load(path, k_origin);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(contains(refused.error(), dir.path() + "/missing/parent"),
             refused.error());
}

BOOST_AUTO_TEST_CASE(load_refuses_a_name_signed_notes_cannot_carry) {
  const TempDir dir;
  for (const char *name : {"", "two words", "a+b", "tab\there"}) {
    const auto refused = CheckpointSigner::load(dir.path() + "/k", name);
    BOOST_REQUIRE(!refused);
    BOOST_TEST(contains(refused.error(), "key name"), refused.error());
  }
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/k"));
}

BOOST_AUTO_TEST_CASE(sign_refuses_a_bad_hash_or_origin) {
  const TempDir dir;
  const auto signer = new_signer(dir);
  BOOST_CHECK_THROW(signer.sign(k_origin, 1, "abc", 0), std::invalid_argument);
  BOOST_CHECK_THROW(signer.sign(k_origin, 1, std::string(64, 'g'), 0),
                    std::invalid_argument);
  BOOST_CHECK_THROW(signer.sign("", 1, k_hash, 0), std::invalid_argument);
  BOOST_CHECK_THROW(signer.sign("a\nb", 1, k_hash, 0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(open_returns_what_the_checkpoint_states) {
  const TempDir dir;
  const auto signer = new_signer(dir);
  const auto signed_ = signer.sign(k_origin, 123456789012, k_hash, 99);
  BOOST_TEST(signed_.note.rfind(signed_.body() + "\n\xe2\x80\x94 ", 0) == 0);
  const auto opened = ok(verifier_of(signer).open(signed_.note));
  BOOST_TEST(opened.origin == k_origin);
  BOOST_TEST(opened.size == 123456789012u);
  BOOST_TEST(opened.hash == k_hash);
  BOOST_TEST(opened.note == signed_.note);
  BOOST_TEST(opened.time == 0); // not signed: not in the note
}

BOOST_AUTO_TEST_CASE(open_refuses_a_note_another_key_signed) {
  const TempDir ours, theirs;
  const auto verifier = verifier_of(new_signer(ours));
  const auto note = new_signer(theirs).sign(k_origin, 1, k_hash, 0).note;
  const auto refused = error_of(verifier.open(note));
  BOOST_TEST(contains(refused, "not signed by the key"), refused);
}

BOOST_AUTO_TEST_CASE(open_refuses_a_note_whose_text_was_changed) {
  const TempDir dir;
  const auto signer = new_signer(dir);
  auto note = signer.sign(k_origin, 10, k_hash, 0).note;
  note.replace(note.find("\n10\n"), 4, "\n11\n");
  const auto refused = error_of(verifier_of(signer).open(note));
  BOOST_TEST(contains(refused, "does not match"), refused);
}

BOOST_AUTO_TEST_CASE(open_ignores_signatures_of_other_keys) {
  const TempDir ours, witness;
  const auto signer = new_signer(ours);
  const auto note = signer.sign(k_origin, 5, k_hash, 0).note;
  const auto witnessed =
      note +
      new_signer(witness, "witness.example")
          .sign(k_origin, 5, k_hash, 0)
          .note.substr(signer.sign(k_origin, 5, k_hash, 0).body().size() + 1);
  BOOST_TEST(witnessed.size() > note.size());
  BOOST_TEST(ok(verifier_of(signer).open(witnessed)).size == 5u);
}

BOOST_AUTO_TEST_CASE(open_refuses_malformed_notes) {
  const TempDir dir;
  const auto signer = new_signer(dir);
  const auto verifier = verifier_of(signer);
  const auto note = signer.sign(k_origin, 5, k_hash, 0).note;
  const auto body = signer.sign(k_origin, 5, k_hash, 0).body();
  const auto signature_line = note.substr(body.size() + 1);
  const std::string malformed[] = {
      "",
      body,
      body + "\n",
      body + signature_line,                     // no blank line
      body + "\n" + signature_line.substr(3),    // no em dash
      body + "\n-- " + signature_line.substr(4), // not an em dash
      note.substr(0, note.size() - 1),           // no final newline
      body + "\r\n" + signature_line,            // a control character
      body + "\n\xe2\x80\x94 " + k_origin + "\n",
      body + "\n\xe2\x80\x94 " + k_origin + " !!!!\n",
  };
  for (const auto &text : malformed)
    BOOST_TEST(!verifier.open(text), text);
}

BOOST_AUTO_TEST_CASE(open_reads_only_well_formed_checkpoint_text) {
  const auto verifier = ok(CheckpointVerifier::parse(k_openssl_vkey));
  const std::string hash_line =
      "BSXSFQZdelHd/lJwh8soeCp+tnV6+yRIHKCuLjDorP4=\n";
  const std::string not_checkpoints[] = {
      "\n10000\n" + hash_line,                   // no origin
      std::string(k_openssl_name) + "\n10000\n", // no hash line
      std::string(k_openssl_name) + "\n010000\n" + hash_line,
      std::string(k_openssl_name) + "\n-1\n" + hash_line,
      std::string(k_openssl_name) + "\nten\n" + hash_line,
      std::string(k_openssl_name) + "\n10000\nBSXSFQZdelHd\n",
      std::string(k_openssl_name) + "\n10000\n" + hash_line.substr(0, 43) +
          "\n", // no padding: not canonical
  };
  for (const auto &text : not_checkpoints) {
    const auto refused = error_of(verifier.open(openssl_signed(text)));
    BOOST_TEST(!contains(refused, "signature"), refused);
  }
  // a checkpoint may carry extension lines after its hash
  const auto extended = ok(verifier.open(openssl_signed(
      std::string(k_openssl_name) + "\n10000\n" + hash_line + "ext\n")));
  BOOST_TEST(extended.size == 10000u);
  BOOST_TEST(extended.hash == k_openssl_hash);
  BOOST_TEST(openssl_signed(std::string(k_openssl_name) + "\n10000\n" +
                            hash_line) == k_openssl_checkpoint);
}

BOOST_AUTO_TEST_CASE(refusals_leave_no_openssl_error_behind) {
  const TempDir dir;
  ERR_clear_error();
  BOOST_TEST(
      !CheckpointSigner::load(private_file(dir, "k", "not a key"), k_origin));
  BOOST_TEST(ERR_peek_error() == 0u);
  std::string forged = k_openssl_checkpoint;
  forged[0] = 'n';
  BOOST_TEST(!ok(CheckpointVerifier::parse(k_openssl_vkey)).open(forged));
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_CASE(parse_refuses_what_is_not_a_verifier_key) {
  const std::string bad[] = {
      "",
      "PeterNeumann",
      "PeterNeumann+c74f20a3",
      "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
      "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
      "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
      "PeterNeumann+c74f20a3+!!!!",
      // the reference's wrong length and unknown algorithm, ids adjusted
      "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
      "LDE4izWy10TWBADKEY==",
      "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
  };
  for (const auto &key : bad)
    BOOST_TEST(!CheckpointVerifier::parse(key), key);
}

BOOST_AUTO_TEST_CASE(parse_reads_a_public_file) {
  const TempDir dir;
  const auto signer = new_signer(dir);
  const auto parsed =
      ok(CheckpointVerifier::parse(read_file(dir.path() + "/audit.key.pub")));
  BOOST_TEST(parsed.key_name() == k_origin);
  BOOST_TEST(ok(parsed.open(signer.sign(k_origin, 1, k_hash, 0).note)).size ==
             1u);
}

BOOST_AUTO_TEST_SUITE_END()
