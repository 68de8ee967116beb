#include "sinks/StreamSink.hpp"

#include "sinks/JsonLine.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace dovewarden::sinks {

tl::expected<std::shared_ptr<StreamSink>, std::string>
StreamSink::open(const Options &options) {
  if (options.path == "-") {
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    return std::shared_ptr<StreamSink>(
        new StreamSink(util::Fd(), STDOUT_FILENO, "stdout", options,
                       tty || options.flush_interval.count() == 0));
  }
  util::Fd fd(::open(options.path.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) {
    const int errnum = errno;
    return tl::unexpected("cannot open " + util::quote(options.path) + ": " +
                          util::error_text(errnum));
  }
  const int raw = fd.get();
  return std::shared_ptr<StreamSink>(
      new StreamSink(std::move(fd), raw, options.path, options,
                     options.flush_interval.count() == 0));
}

StreamSink::StreamSink(util::Fd owned, int fd, std::string label,
                       Options options, bool immediate)
    : m_owned(std::move(owned)), m_fd(fd), m_label(std::move(label)),
      m_options(std::move(options)), m_immediate(immediate) {
  m_buffer.reserve(m_options.flush_bytes + 4096);
}

void StreamSink::handle(const core::Event &event) {
  m_buffer += to_json_line(event);
  m_buffer += '\n';
  if (m_immediate || m_buffer.size() >= m_options.flush_bytes)
    write_out();
}

std::chrono::milliseconds StreamSink::flush_interval() const {
  return m_immediate ? std::chrono::milliseconds(0) : m_options.flush_interval;
}

void StreamSink::flush() { write_out(); }

void StreamSink::stop() {
  write_out();
  m_owned.reset();
}

void StreamSink::write_out() {
  std::size_t done = 0;
  while (done < m_buffer.size()) {
    const auto written =
        ::write(m_fd, m_buffer.data() + done, m_buffer.size() - done);
    if (written >= 0) {
      done += static_cast<std::size_t>(written);
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN) {
      // someone handed us a non-blocking stdout
      pollfd pfd{m_fd, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      continue;
    }
    const int errnum = errno;
    const auto lost = m_buffer.size() - done;
    m_buffer.clear();
    throw std::runtime_error("write to " + m_label +
                             " failed: " + util::error_text(errnum) + "; " +
                             std::to_string(lost) + " bytes discarded");
  }
  m_buffer.clear();
}

} // namespace dovewarden::sinks
