#include "admin/AdminToken.hpp"

#include "util/Fatal.hpp"
#include "util/Fd.hpp"
#include "util/Random.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>

namespace dovewarden::admin {

namespace {

constexpr std::size_t k_random_bytes = 32;

std::string hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    text += k_digits[value >> 4];
    text += k_digits[value & 0x0f];
  }
  return text;
}

tl::expected<void, std::string> write_all(int fd, std::string_view data,
                                          const std::string &path) {
  while (!data.empty()) {
    const auto written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR)
      continue;
    if (written < 0)
      return tl::unexpected("cannot write " + path + ": " +
                            util::error_text(errno));
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

// Publishes a new token file under path unless one exists: written to a
// private temporary name first and linked into place, so that a reader
// never sees a half-written file and a concurrent daemon's file is kept.
tl::expected<void, std::string> create_file(const std::string &path) {
  const auto temporary = path + "." + std::to_string(::getpid()) + ".tmp";
  ::unlink(temporary.c_str());
  util::Fd fd(::open(temporary.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                     0600));
  if (!fd)
    return tl::unexpected("cannot create " + temporary + ": " +
                          util::error_text(errno));
  auto written = write_all(fd.get(), AdminToken::generate() + "\n", temporary);
  if (written && ::fsync(fd.get()) != 0)
    written = tl::unexpected("cannot write " + temporary + ": " +
                             util::error_text(errno));
  fd.reset();
  if (written && ::link(temporary.c_str(), path.c_str()) != 0 &&
      errno != EEXIST)
    written = tl::unexpected("cannot create " + path + ": " +
                             util::error_text(errno));
  ::unlink(temporary.c_str());
  return written;
}

} // namespace

AdminToken::AdminToken(std::string_view token, std::string origin)
    : m_token(token), m_origin(std::move(origin)) {}

tl::expected<AdminToken, std::string>
AdminToken::load(const std::string &token, const std::string &token_file,
                 const std::string &store_dir) {
  if (!token.empty()) {
    const auto trimmed = util::trim(token);
    if (trimmed.empty())
      return tl::unexpected(std::string(k_token_env) + ": empty token");
    return AdminToken(trimmed, k_token_env);
  }
  std::string path;
  bool generated = false;
  if (!token_file.empty()) {
    path = token_file;
  } else {
    path = store_dir + "/" + k_file_name;
    if (::access(path.c_str(), F_OK) != 0) {
      const auto created = create_file(path);
      if (!created)
        return tl::unexpected(created.error());
      generated = true;
    }
  }
  const auto stored = read_file(path);
  if (!stored)
    return tl::unexpected(stored.error());
  AdminToken loaded(*stored, path);
  loaded.m_generated = generated;
  return loaded;
}

std::string AdminToken::generate() {
  auto bytes = util::random_bytes(k_random_bytes);
  auto token = hex(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

} // namespace dovewarden::admin
