#include "util/System.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace dovewarden::util {

namespace {

// Calls the reentrant lookup getpwnam_r or getgrnam_r with a buffer that
// grows until the entry fits. Returns the entry found, or nullptr.
template <typename Entry, typename Lookup>
const Entry *look_up(Lookup lookup, const std::string &name, Entry &entry,
                     std::vector<char> &buffer) {
  buffer.resize(4096);
  Entry *found = nullptr;
  while (true) {
    const int err =
        lookup(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (err != ERANGE || buffer.size() >= (1u << 20))
      return err == 0 ? found : nullptr;
    buffer.resize(buffer.size() * 2);
  }
}

} // namespace

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

std::string error_text(int errnum) {
  char buffer[256];
  // GNU strerror_r returns the text, which may or may not be buffer
  return ::strerror_r(errnum, buffer, sizeof(buffer));
}

std::optional<uid_t> user_id(const std::string &name) {
  passwd entry{};
  std::vector<char> buffer;
  if (const auto *found = look_up(::getpwnam_r, name, entry, buffer))
    return found->pw_uid;
  return std::nullopt;
}

std::optional<gid_t> group_id(const std::string &name) {
  group entry{};
  std::vector<char> buffer;
  if (const auto *found = look_up(::getgrnam_r, name, entry, buffer))
    return found->gr_gid;
  return std::nullopt;
}

} // namespace dovewarden::util
