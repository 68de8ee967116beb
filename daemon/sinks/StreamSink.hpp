#pragma once

#include "bus/Subscriber.hpp"
#include "util/Fd.hpp"

#include <tl/expected.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace dovewarden::sinks {

// Writes events as JSON lines (see to_json_line) to stdout or a file, for
// "dovewardend | jq" pipelines. Lines are batched: the batch is written when
// it reaches flush_bytes, every flush_interval, and on stop. A terminal on
// stdout, or a zero interval, gets every line at once.
//
// A file is created mode 0640 (less if the umask says so): events name users
// and their addresses, so others may not read it. reopen() opens the path
// anew for logrotate. If the reader goes away (a broken pipe), the sink says
// so once and discards its events from then on, counting them.
class StreamSink : public bus::Subscriber {
public:
  struct Options {
    std::string path; // "-": stdout; otherwise a file, appended to
    std::chrono::milliseconds flush_interval{200};
    std::size_t flush_bytes = 65536;
    // told how many events were discarded because the reader went away
    std::function<void(std::size_t)> on_discard = [](std::size_t) {};
  };

  // Opens the stream. Returns the sink, or an error text if the file cannot
  // be opened.
  static tl::expected<std::shared_ptr<StreamSink>, std::string>
  open(const Options &options);

  std::string name() const override { return "stream"; }
  // Throws std::runtime_error if a write fails; the batch is then discarded.
  void handle(const core::Event &event) override;
  std::chrono::milliseconds flush_interval() const override;
  void flush() override;
  void stop() override;

  // Opens the file's path anew, creating it if it was renamed away, for
  // logrotate (SIGHUP). The next write goes to the new file; a batch being
  // written when this is called goes whole to the old one. Safe from any
  // thread; never waits for a write. Returns false for stdout, where there is
  // nothing to reopen, or an error text, in which case the old file stays
  // in use.
  tl::expected<bool, std::string> reopen();

private:
  StreamSink(util::Fd owned, int fd, std::string label, Options options,
             bool immediate);
  void take_reopened();
  void write_out();
  void discard_after_broken_pipe(std::size_t unwritten_from);

  util::Fd m_owned; // empty for stdout
  int m_fd;
  std::string m_label; // "stdout" or the path, for error texts
  Options m_options;
  bool m_immediate;
  std::string m_buffer;
  bool m_reader_gone = false; // a broken pipe, until a reopen

  // reopen() leaves the new file here for the worker to take
  std::mutex m_reopen_mutex;
  util::Fd m_reopened;
  std::atomic<bool> m_reopen_pending{false};
};

} // namespace dovewarden::sinks
