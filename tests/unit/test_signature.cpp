#include "util/Base64.hpp"
#include "webhook/Signature.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <set>
#include <string>

using dovewarden::util::base64_decode;
using dovewarden::util::base64_encode;
using dovewarden::webhook::check_secret;
using dovewarden::webhook::generate_secret;
using dovewarden::webhook::Secret;
using dovewarden::webhook::sign;
using dovewarden::webhook::signature_header;
using dovewarden::webhook::TimePoint;
using namespace std::chrono_literals;

namespace {

// the test vector of the Standard Webhooks reference libraries (e.g.
// libraries/go/webhook_test.go, TestWebhookSign)
constexpr const char *k_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char *k_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr const char *k_timestamp = "1614265330";
constexpr const char *k_body = R"({"test": 2432232314})";
constexpr const char *k_signature =
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::string secret_of_size(std::size_t size) {
  return "whsec_" + base64_encode(std::string(size, 'k'));
}

} // namespace

BOOST_AUTO_TEST_SUITE(signature)

BOOST_AUTO_TEST_CASE(reference_test_vector) {
  BOOST_TEST(sign(k_secret, k_id, k_timestamp, k_body) == k_signature);
}

BOOST_AUTO_TEST_CASE(every_part_of_the_message_is_signed) {
  const auto reference = sign(k_secret, k_id, k_timestamp, k_body);
  BOOST_TEST(sign(k_secret, "msg_p5jXN8AQM9LWM0D4loKWxJeK", k_timestamp,
                  k_body) != reference);
  BOOST_TEST(sign(k_secret, k_id, "1614265331", k_body) != reference);
  BOOST_TEST(sign(k_secret, k_id, k_timestamp, R"({"test": 2432232315})") !=
             reference);
  BOOST_TEST(sign(generate_secret(), k_id, k_timestamp, k_body) != reference);
}

BOOST_AUTO_TEST_CASE(generated_secrets_are_whsec_and_32_random_bytes) {
  std::set<std::string> secrets;
  for (int i = 0; i < 20; i++) {
    const auto secret = generate_secret();
    BOOST_TEST_REQUIRE(secret.rfind("whsec_", 0) == 0u);
    const auto key = base64_decode(secret.substr(6));
    BOOST_TEST_REQUIRE(key.has_value());
    BOOST_TEST(key->size() == 32u);
    BOOST_TEST(check_secret(secret).has_value());
    secrets.insert(secret);
  }
  BOOST_TEST(secrets.size() == 20u);
}

BOOST_AUTO_TEST_CASE(check_secret_accepts_24_to_64_byte_keys) {
  BOOST_TEST(check_secret(k_secret).has_value());
  BOOST_TEST(check_secret(secret_of_size(24)).has_value());
  BOOST_TEST(check_secret(secret_of_size(64)).has_value());
  // padding is optional, as in the reference libraries' secrets
  auto unpadded = secret_of_size(25);
  while (unpadded.back() == '=')
    unpadded.pop_back();
  BOOST_TEST(check_secret(unpadded).has_value());
}

BOOST_AUTO_TEST_CASE(check_secret_errors) {
  BOOST_TEST(check_secret("").error() == "a secret must start with whsec_");
  BOOST_TEST(check_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").error() ==
             "a secret must start with whsec_");
  BOOST_TEST(check_secret("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").error() ==
             "a secret must start with whsec_");
  BOOST_TEST(check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w").error() ==
             "a secret must be whsec_ and base64: invalid base64 character "
             "at position 30");
  BOOST_TEST(check_secret("whsec_").error() ==
             "a secret's key must be 24 to 64 bytes, not 0");
  BOOST_TEST(check_secret(secret_of_size(23)).error() ==
             "a secret's key must be 24 to 64 bytes, not 23");
  BOOST_TEST(check_secret(secret_of_size(65)).error() ==
             "a secret's key must be 24 to 64 bytes, not 65");
}

BOOST_AUTO_TEST_CASE(check_secret_errors_do_not_show_the_secret) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w";
  const auto checked = check_secret(secret);
  BOOST_TEST_REQUIRE(!checked.has_value());
  BOOST_TEST(checked.error().find("MfKQ9r8") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(sign_refuses_a_secret_that_fails_check_secret) {
  BOOST_CHECK_THROW(sign("whsec_short", k_id, k_timestamp, k_body),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(header_with_one_secret_is_its_signature) {
  const TimePoint now{1614265330s};
  BOOST_TEST(signature_header({Secret{k_secret, TimePoint{}}}, now, k_id,
                              k_timestamp, k_body) == k_signature);
}

BOOST_AUTO_TEST_CASE(header_during_rotation_has_both_current_first) {
  const TimePoint now{1614265330s};
  const auto current = generate_secret();
  const std::vector<Secret> secrets{{current, TimePoint{}},
                                    {k_secret, now + 1h}};
  const auto header = signature_header(secrets, now, k_id, k_timestamp, k_body);
  BOOST_TEST(header ==
             sign(current, k_id, k_timestamp, k_body) + " " + k_signature);
}

BOOST_AUTO_TEST_CASE(header_leaves_out_expired_secrets) {
  const TimePoint now{1614265330s};
  const auto current = generate_secret();
  const auto expired = generate_secret();
  const auto expiring_now = generate_secret();
  const std::vector<Secret> secrets{{current, TimePoint{}},
                                    {expired, now - 1s},
                                    {expiring_now, now},
                                    {k_secret, now + 1s}};
  const auto header = signature_header(secrets, now, k_id, k_timestamp, k_body);
  BOOST_TEST(header ==
             sign(current, k_id, k_timestamp, k_body) + " " + k_signature);
  BOOST_TEST(header.find(sign(expired, k_id, k_timestamp, k_body)) ==
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
