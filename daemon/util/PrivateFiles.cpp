#include "util/PrivateFiles.hpp"

#include "util/Fd.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace dovewarden::util {

namespace {

constexpr mode_t k_shared_bits = S_IRWXG | S_IRWXO;
constexpr std::size_t k_max_secret_file = 4096;

tl::unexpected<std::string> failure(const char *what, const std::string &path,
                                    int errnum) {
  return tl::unexpected(std::string(what) + " " + quote(path) + ": " +
                        error_text(errnum));
}

// Takes group and other access away from the open file fd names.
tl::expected<void, std::string> tighten(int fd, const std::string &path) {
  struct stat status {};
  if (::fstat(fd, &status) != 0)
    return failure("cannot read the mode of", path, errno);
  const mode_t mode = status.st_mode & 07777;
  if ((mode & k_shared_bits) == 0)
    return {};
  const mode_t narrowed = mode & ~(k_shared_bits | S_ISUID | S_ISGID);
  if (::fchmod(fd, narrowed) != 0)
    return failure("cannot change the mode of", path, errno);
  // the store holds webhook secrets and users' names: say that it was open
  LOG_WARN(quote(path), " was mode ", octal_mode(mode), "; made it ",
           octal_mode(narrowed), " (only dovewardend's user may read it)");
  return {};
}

// Puts a file holding bytes at path: written whole under a temporary name
// (mode 0600 until it is complete), then renamed over path, or linked to it
// unless path exists.
tl::expected<void, std::string> publish(const std::string &path,
                                        std::string_view bytes, mode_t mode,
                                        bool replace) {
  std::string temporary = path + ".XXXXXX";
  const Fd fd(::mkostemp(temporary.data(), O_CLOEXEC));
  if (!fd)
    return failure("cannot create", temporary, errno);
  tl::expected<void, std::string> written;
  while (written && !bytes.empty()) {
    const auto wrote = ::write(fd.get(), bytes.data(), bytes.size());
    if (wrote < 0 && errno != EINTR)
      written = failure("cannot write", temporary, errno);
    else if (wrote > 0)
      bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
  if (written && ::fsync(fd.get()) != 0)
    written = failure("cannot write", temporary, errno);
  if (written && ::fchmod(fd.get(), mode) != 0)
    written = failure("cannot change the mode of", temporary, errno);
  if (written && replace && ::rename(temporary.c_str(), path.c_str()) != 0)
    written = failure("cannot write", path, errno);
  if (written && !replace && ::link(temporary.c_str(), path.c_str()) != 0 &&
      errno != EEXIST)
    written = failure("cannot create", path, errno);
  if (!written || !replace)
    ::unlink(temporary.c_str());
  return written;
}

} // namespace

tl::expected<void, std::string>
make_private_directory(const std::string &directory) {
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
    return failure("cannot create", directory, errno);
  // followed if it is a link: systemd's DynamicUser= links the state
  // directory into /var/lib/private
  const Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    return failure("cannot open", directory, errno);
  if (auto tightened = tighten(fd.get(), directory); !tightened)
    LOG_WARN(tightened.error(), "; it stays readable to others");
  return {};
}

tl::expected<void, std::string> make_private_file(const std::string &path) {
  const Fd fd(::open(path.c_str(),
                     O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                     0600));
  if (!fd)
    return failure("cannot create", path, errno);
  return tighten(fd.get(), path);
}

tl::expected<void, std::string>
make_private_if_present(const std::string &path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return errno == ENOENT ? tl::expected<void, std::string>()
                           : failure("cannot open", path, errno);
  return tighten(fd.get(), path);
}

tl::expected<std::string, SecretLineError>
read_secret_file(const std::string &path, std::size_t max,
                 bool require_private) {
  const int flags = O_RDONLY | O_CLOEXEC | (require_private ? O_NOFOLLOW : 0);
  const Fd fd(::open(path.c_str(), flags));
  if (!fd)
    return tl::unexpected(SecretLineError{errno, 0});
  if (require_private) {
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0)
      return tl::unexpected(SecretLineError{errno, 0});
    if ((status.st_mode & k_shared_bits) != 0)
      return tl::unexpected(SecretLineError{0, status.st_mode & 07777});
  }
  std::string text(max, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const auto got = ::read(fd.get(), &text[size], text.size() - size);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      const int errnum = errno;
      OPENSSL_cleanse(text.data(), text.size());
      return tl::unexpected(SecretLineError{errnum, 0});
    }
    if (got == 0)
      break;
    size += static_cast<std::size_t>(got);
  }
  text.resize(size);
  return text;
}

tl::expected<std::string, SecretLineError>
read_secret_line(const std::string &path, bool require_private) {
  auto text = read_secret_file(path, k_max_secret_file, require_private);
  if (!text)
    return text;
  std::string_view line(*text);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  std::string secret(trim(line));
  OPENSSL_cleanse(text->data(), text->size());
  return secret;
}

tl::expected<void, std::string> create_private_file(const std::string &path,
                                                    std::string_view bytes) {
  return publish(path, bytes, 0600, false);
}

tl::expected<void, std::string>
replace_file(const std::string &path, std::string_view bytes, mode_t mode) {
  return publish(path, bytes, mode, true);
}

} // namespace dovewarden::util
