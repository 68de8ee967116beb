#include "pipeline/Pipeline.hpp"

#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"

#include <variant>

namespace dovewarden::pipeline {

namespace {

constexpr auto k_reset_log_interval = std::chrono::minutes(1);

void copy_field(const wire::Message &from, wire::Message &to,
                std::string_view key) {
  if (const auto *value = from.find(key))
    to.set(key, *value);
}

} // namespace

Pipeline::Pipeline(bus::Bus &bus, metrics::Metrics &metrics,
                   core::LossDetector::Options loss_options)
    : m_bus(bus), m_metrics(metrics), m_loss(loss_options),
      m_reset_log(k_reset_log_interval) {}

std::size_t Pipeline::submit(core::Event event) {
  m_metrics.event_received(event.source, event.type());
  if (auto lost = check_loss(event))
    publish(std::move(*lost));
  return publish(std::move(event));
}

void Pipeline::submit(std::vector<core::Event> events) {
  std::vector<std::shared_ptr<const core::Event>> batch;
  batch.reserve(events.size());
  for (auto &event : events) {
    m_metrics.event_received(event.source, event.type());
    // an events.lost goes out right before the event that revealed it
    if (auto lost = check_loss(event)) {
      publish(batch);
      batch.clear();
      publish(std::move(*lost));
    }
    batch.push_back(std::make_shared<const core::Event>(std::move(event)));
  }
  publish(batch);
}

void Pipeline::reject(std::string_view source, wire::Reject reason) {
  reject(source, wire::reject_name(reason));
}

void Pipeline::reject(std::string_view source, std::string_view reason) {
  m_metrics.event_rejected(source, reason);
}

void Pipeline::expect_rejection(std::string_view source,
                                std::string_view reason) {
  m_metrics.expect_rejection(source, reason);
}

std::optional<core::Event> Pipeline::check_loss(const core::Event &event) {
  const auto inst = event.message.str("inst");
  const auto seq = core::unsigned_field(event.message, "seq");
  if (inst.empty() || !seq)
    return std::nullopt;
  const auto user = event.message.str("user");
  std::optional<core::LossDetector::Loss> loss;
  {
    std::lock_guard lock(m_loss_mutex);
    loss = m_loss.observe(inst, *seq, core::LossDetector::Clock::now(), user);
  }
  if (!loss)
    return std::nullopt;
  const auto svc = event.message.str("svc");
  if (loss->kind == core::LossDetector::Loss::Kind::reset) {
    report_reset(event, *loss);
    return std::nullopt;
  }
  m_metrics.events_lost(svc, loss->lost);
  LOG_DEBUG("lost ", loss->lost, " events from ", svc, " pid ",
            event.message.integer("pid"), " inst ", inst, " between seq ",
            loss->after_seq, " and ", loss->next_seq);

  auto lost = core::Event::internal("events.lost");
  copy_field(event.message, lost.message, "host");
  copy_field(event.message, lost.message, "svc");
  copy_field(event.message, lost.message, "pid");
  copy_field(event.message, lost.message, "inst");
  lost.message.set("lost", loss->lost);
  lost.message.set("after_seq", loss->after_seq);
  lost.message.set("next_seq", loss->next_seq);
  // whose changes the lost messages may have held: the users either side of
  // the gap (one, for an imap or pop3 process); replication syncs them
  wire::Strings users;
  if (!loss->last_user.empty())
    users.emplace_back(loss->last_user);
  if (!user.empty() && user != loss->last_user)
    users.emplace_back(user);
  if (!users.empty())
    lost.message.set("users", std::move(users));
  m_metrics.event_received(lost.source, lost.type());
  return lost;
}

void Pipeline::report_reset(const core::Event &event,
                            const core::LossDetector::Loss &reset) {
  const auto svc = event.message.str("svc");
  m_metrics.seq_reset(svc);
  std::lock_guard lock(m_reset_log_mutex);
  if (!m_reset_log.allow())
    return;
  const auto suppressed = m_reset_log.take_suppressed();
  LOG_WARN("seq of ", util::quote(svc), " pid ", event.message.integer("pid"),
           " inst ", util::quote(event.message.str("inst")), " went from ",
           reset.after_seq, " to ", reset.next_seq,
           ", which no lost events explain: taken as a new start (a forged "
           "message?)",
           suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                " more since the last report)"
                          : std::string());
}

std::size_t Pipeline::publish(core::Event event) {
  const auto taken =
      m_bus.publish(std::make_shared<const core::Event>(std::move(event)));
  if (taken == 0)
    m_metrics.event_filtered();
  return taken;
}

void Pipeline::publish(
    const std::vector<std::shared_ptr<const core::Event>> &events) {
  if (events.empty())
    return;
  for (const auto taken : m_bus.publish(events))
    if (taken == 0)
      m_metrics.event_filtered();
}

} // namespace dovewarden::pipeline
