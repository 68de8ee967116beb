#pragma once

#include "util/Fd.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace dovewarden::test {

// Takes what the log writes to stderr, for the length of its scope.
class CapturedLog {
public:
  CapturedLog() : m_stderr(::dup(STDERR_FILENO)) {
    char name[] = "/tmp/dovewarden-log-XXXXXX";
    m_file.reset(::mkstemp(name));
    BOOST_REQUIRE(m_file && m_stderr);
    ::unlink(name);
    BOOST_REQUIRE(::dup2(m_file.get(), STDERR_FILENO) == STDERR_FILENO);
  }
  ~CapturedLog() { ::dup2(m_stderr.get(), STDERR_FILENO); }
  CapturedLog(const CapturedLog &) = delete;
  CapturedLog &operator=(const CapturedLog &) = delete;

  // Returns the messages logged since the last call, each without its time
  // ("warn zmq: ...\n"), and forgets them.
  std::string take() {
    std::string text;
    char buffer[4096];
    ssize_t got = 0;
    ::lseek(m_file.get(), 0, SEEK_SET);
    while ((got = ::read(m_file.get(), buffer, sizeof(buffer))) > 0)
      text.append(buffer, static_cast<std::size_t>(got));
    BOOST_REQUIRE(::ftruncate(m_file.get(), 0) == 0);
    ::lseek(m_file.get(), 0, SEEK_SET);
    std::string messages;
    for (std::size_t at = 0; at < text.size();) {
      const auto time_end = text.find(' ', at);
      const auto line_end = text.find('\n', at);
      BOOST_REQUIRE(time_end < line_end && line_end != std::string::npos);
      messages += text.substr(time_end + 1, line_end - time_end);
      at = line_end + 1;
    }
    return messages;
  }

private:
  util::Fd m_stderr;
  util::Fd m_file;
};

} // namespace dovewarden::test
