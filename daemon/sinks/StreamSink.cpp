#include "sinks/StreamSink.hpp"

#include "sinks/JsonLine.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace dovewarden::sinks {

namespace {

// events name users and their addresses: not for others to read
constexpr mode_t k_file_mode = 0640;

tl::expected<util::Fd, std::string> open_file(const std::string &path) {
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                     k_file_mode));
  if (!fd) {
    const int errnum = errno;
    return tl::unexpected("cannot open " + util::quote(path) + ": " +
                          util::error_text(errnum));
  }
  return fd;
}

} // namespace

tl::expected<std::shared_ptr<StreamSink>, std::string>
StreamSink::open(const Options &options) {
  if (options.path == "-") {
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    return std::shared_ptr<StreamSink>(
        new StreamSink(util::Fd(), STDOUT_FILENO, "stdout", options,
                       tty || options.flush_interval.count() == 0));
  }
  auto fd = open_file(options.path);
  if (!fd)
    return tl::unexpected(fd.error());
  const int raw = fd->get();
  return std::shared_ptr<StreamSink>(
      new StreamSink(std::move(*fd), raw, options.path, options,
                     options.flush_interval.count() == 0));
}

StreamSink::StreamSink(util::Fd owned, int fd, std::string label,
                       Options options, bool immediate)
    : m_owned(std::move(owned)), m_fd(fd), m_label(std::move(label)),
      m_options(std::move(options)), m_immediate(immediate) {
  m_buffer.reserve(m_options.flush_bytes + 4096);
}

void StreamSink::handle(const core::Event &event) {
  take_reopened();
  if (m_reader_gone) {
    m_options.on_discard(1);
    return;
  }
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
  std::lock_guard lock(m_reopen_mutex);
  m_reopened.reset();
}

tl::expected<bool, std::string> StreamSink::reopen() {
  if (m_options.path == "-")
    return false;
  auto fd = open_file(m_options.path);
  if (!fd)
    return tl::unexpected(fd.error());
  std::lock_guard lock(m_reopen_mutex);
  m_reopened = std::move(*fd);
  m_reopen_pending = true;
  return true;
}

// On the worker, between writes: a batch goes whole to one file.
void StreamSink::take_reopened() {
  if (!m_reopen_pending.exchange(false))
    return;
  std::lock_guard lock(m_reopen_mutex);
  if (!m_reopened)
    return;
  m_owned = std::move(m_reopened);
  m_fd = m_owned.get();
  m_reader_gone = false;
}

void StreamSink::write_out() {
  take_reopened();
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
    if (errno == EPIPE) {
      discard_after_broken_pipe(done);
      return;
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

void StreamSink::discard_after_broken_pipe(std::size_t unwritten_from) {
  // a line cut short counts as lost: the reader never had all of it
  const auto last_whole = unwritten_from == 0
                              ? std::string::npos
                              : m_buffer.rfind('\n', unwritten_from - 1);
  const auto first_lost = last_whole == std::string::npos ? 0 : last_whole + 1;
  const auto lost = static_cast<std::size_t>(
      std::count(m_buffer.begin() + static_cast<std::ptrdiff_t>(first_lost),
                 m_buffer.end(), '\n'));
  m_buffer.clear();
  m_reader_gone = true;
  m_options.on_discard(lost);
  LOG_ERROR("stream: the reader of ", m_label,
            " went away (broken pipe); its events are discarded and counted "
            "in dovewarden_bus_dropped_total{subscriber=\"stream\"}",
            m_options.path == "-" ? "" : " until SIGHUP reopens it");
}

} // namespace dovewarden::sinks
