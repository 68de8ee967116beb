#include "replication/Replicator.hpp"

#include "replication/ReplicationMetrics.hpp"
#include "util/DependencyBackoff.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

namespace dovewarden::replication {

namespace {

using namespace std::chrono;

constexpr std::size_t k_sweep_batch = 1000;
constexpr milliseconds k_store_retry{1000};

std::int64_t micros(store::TimePoint time) {
  return duration_cast<microseconds>(time.time_since_epoch()).count();
}

double seconds_between(store::TimePoint from, store::TimePoint to) {
  return duration<double>(to - from).count();
}

// "host:pid" of a daemon of this host whose process is gone
bool dead_here(const std::string &owner, const std::string &self) {
  const auto colon = owner.rfind(':');
  const auto self_colon = self.rfind(':');
  if (colon == std::string::npos ||
      owner.compare(0, colon, self, 0, self_colon) != 0 || colon != self_colon)
    return false;
  if (owner == self)
    return true; // a pid reused: this process holds nothing yet
  const auto pid =
      util::parse_unsigned(std::string_view(owner).substr(colon + 1),
                           std::numeric_limits<pid_t>::max());
  return pid && *pid > 0 && ::kill(static_cast<pid_t>(*pid), 0) != 0 &&
         errno == ESRCH;
}

} // namespace

Replicator::Replicator(Options options, store::ReplicationStore &store,
                       Doveadm doveadm,
                       replication::ReplicationMetrics &metrics,
                       Publish publish)
    : m_options(std::move(options)), m_store(store),
      m_doveadm(std::move(doveadm)), m_metrics(metrics),
      m_publish(std::move(publish)),
      m_userdb(m_options.userdb,
               [this](const std::string &user) { return look_up(user); }),
      m_doveadm_state(m_options.doveadm_backoff) {}

Replicator::~Replicator() { stop(); }

milliseconds Replicator::backoff(const Options &options, int failures) {
  return util::backoff_wait(options.retry_min, options.retry_max, failures);
}

void Replicator::start() {
  release_dead_leases();
  for (unsigned i = 0; i < m_options.workers; i++)
    m_threads.emplace_back([this] { work(); });
  m_threads.emplace_back([this] { keep(); });
  if (m_options.sweep_enabled)
    m_threads.emplace_back([this] { sweep_loop(); });
}

void Replicator::stop() {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping)
      return;
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_doveadm.cancel)
    m_doveadm.cancel();
  for (auto &thread : m_threads)
    thread.join();
  m_threads.clear();
}

void Replicator::wake() {
  {
    std::lock_guard lock(m_mutex);
    m_wakeups++;
  }
  m_cv.notify_all();
}

bool Replicator::wait(std::uint64_t seen, milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  m_cv.wait_for(lock, timeout, [&] { return m_stopping || m_wakeups != seen; });
  return !m_stopping;
}

bool Replicator::pause(milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  m_cv.wait_for(lock, timeout, [&] { return m_stopping; });
  return !m_stopping;
}

void Replicator::release_dead_leases() {
  const auto owners = m_store.lease_owners();
  if (!owners) {
    store_failed("lease_owners", owners.error());
    return;
  }
  for (const auto &owner : *owners) {
    if (!dead_here(owner, m_options.owner))
      continue;
    const auto released = m_store.release_owner(owner);
    if (released)
      LOG_INFO("replication: gave back ", *released,
               " user(s) leased by the stopped daemon ", owner);
    else
      store_failed("release_owner", released.error());
  }
}

void Replicator::store_failed(const char *operation,
                              const db::StoreFailure &failure) {
  m_metrics.store_error(operation);
  if (m_store_ok.exchange(false))
    LOG_ERROR("replication: store failed (", operation, "): ", failure.message,
              "; retrying");
}

void Replicator::work() {
  std::uint64_t seen;
  while (true) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping)
        return;
      seen = m_wakeups;
    }
    if (!m_doveadm_state.may_try()) {
      // the users stay queued, untouched, until doveadm can be reached
      if (!wait_for_doveadm(seen))
        return;
      continue;
    }
    std::unique_lock settling(m_settle_mutex);
    const auto claimed =
        m_store.claim(m_options.owner, store::Clock::now(), m_options.lease);
    if (claimed && *claimed) {
      std::lock_guard lock(m_mutex);
      m_running[(*claimed)->user] = **claimed;
      // a new claim supersedes what an older one left unwritten
      m_unsettled.erase((*claimed)->user);
    }
    settling.unlock();
    if (!claimed || !*claimed)
      m_doveadm_state.untried();
    if (!claimed) {
      store_failed("claim", claimed.error());
      // the keeper notices the store coming back; until then, no hot loop
      if (!pause(k_store_retry))
        return;
      continue;
    }
    if (!*claimed) {
      if (!wait(seen, m_options.idle_poll))
        return;
      continue;
    }
    run(**claimed);
    // the try of a doveadm that was down, if it made no request (the
    // userdb cache said noreplicate)
    m_doveadm_state.untried();
  }
}

bool Replicator::wait_for_doveadm(std::uint64_t seen) {
  const auto left = duration_cast<milliseconds>(m_doveadm_state.next_try() -
                                                steady_clock::now());
  return wait(seen, std::clamp(left, milliseconds(1), m_options.idle_poll));
}

void Replicator::run(const store::Claim &claim) {
  const auto started = store::Clock::now();
  // A failed sync leaves no state to go on: the HTTP API drops what dsync
  // printed. The kept one may be what failed it, as dsync says ("Failed to
  // do incremental sync ..., retry with a full sync"), exit code 2 each time.
  const bool full =
      claim.full || claim.failures > 0 ||
      started - claim.last_full_sync >= m_options.full_sync_interval;
  const auto result = attempt(claim, full); // work() put it in m_running
  bool stopping;
  {
    std::lock_guard lock(m_mutex);
    m_running.erase(claim.user);
    stopping = m_stopping;
  }
  if (!result)
    return skipped(claim);
  if (!*result &&
      (stopping || result->error().kind == DoveadmFailure::Kind::unreachable))
    return give_back(claim, stopping);
  if (*result)
    succeeded(claim, **result, full, started);
  else
    failed(claim, result->error(), full, started);
}

void Replicator::give_back(const store::Claim &claim, bool stopping) {
  // not the user's fault: no failure recorded
  const auto released = m_store.release(claim, m_options.owner);
  if (released)
    return;
  store_failed("release", released.error());
  // at a stop, not kept: the next start gives back the leases of this daemon
  if (!stopping)
    unsettled(claim, "release", [this, claim]() {
      return m_store.release(claim, m_options.owner);
    });
}

std::optional<Replicator::Outcome>
Replicator::attempt(const store::Claim &claim, bool full) {
  const auto fields = m_userdb.get(claim.user);
  if (!fields)
    return Outcome(tl::unexpected(fields.error()));
  const auto target = SyncTarget::of(*fields, m_options.target);
  if (target.noreplicate)
    return std::nullopt;
  LOG_DEBUG("replication: ", full ? "full" : "fast", " sync of ", claim.user,
            " to ", target.destination, " (", priority_name(claim.priority),
            ")");
  auto result = m_doveadm.sync(claim.user, target.destination,
                               full ? std::string() : claim.dsync_state, full);
  doveadm_answered("sync", result ? nullptr : &result.error());
  return result;
}

tl::expected<UserdbFields, DoveadmFailure>
Replicator::look_up(const std::string &user) {
  auto fields = m_doveadm.user_fields(user);
  doveadm_answered("user", fields ? nullptr : &fields.error());
  return fields;
}

void Replicator::doveadm_answered(const char *command,
                                  const DoveadmFailure *failure) {
  m_metrics.doveadm_request(command,
                            failure ? failure_kind_name(failure->kind) : "ok");
  if (failure && failure->kind == DoveadmFailure::Kind::unreachable) {
    if (m_doveadm_state.failed()) {
      m_metrics.doveadm_up(false);
      LOG_ERROR("replication: ", failure->message,
                "; syncs wait, the queued users are kept");
    }
    return;
  }
  // a connection that closed or timed out without an answer says nothing
  // of whether the next one can be made
  const bool answered = !failure ||
                        failure->kind != DoveadmFailure::Kind::temporary ||
                        failure->exit_code != 0;
  if (answered && m_doveadm_state.succeeded()) {
    m_metrics.doveadm_up(true);
    LOG_INFO("replication: doveadm answers again; syncing the queued users");
    wake();
  }
}

void Replicator::skipped(const store::Claim &claim) {
  m_metrics.noreplicate_skip();
  m_skipped.add(claim.user);
  forget(claim, "the userdb says noreplicate");
}

void Replicator::forget(const store::Claim &claim, const std::string &why) {
  LOG_INFO("replication: ", claim.user, ": ", why, "; removed from the queue");
  const auto removed = m_store.remove(claim.user);
  if (!removed) {
    store_failed("remove", removed.error());
    unsettled(claim, "remove", [this, user = claim.user]() {
      return m_store.remove(user).map([](bool) {});
    });
  }
}

void Replicator::succeeded(const store::Claim &claim, const std::string &state,
                           bool full, store::TimePoint started) {
  const auto finished = store::Clock::now();
  m_metrics.sync(full, true, seconds_between(started, finished));
  const auto stored =
      m_store.succeed(claim, m_options.owner, state, full, finished);
  if (!stored) {
    // the store may still hold the lease (the write, or only its answer,
    // was lost): until the outcome is written, changes queued for the user
    // wait for that lease to expire. The keeper writes it once the store
    // answers; a change queued meanwhile then queues the user again.
    store_failed("succeed", stored.error());
    unsettled(claim, "succeed", [this, claim, state, full, finished]() {
      return m_store.succeed(claim, m_options.owner, state, full, finished);
    });
  }
  publish("replication.succeeded", claim, full, started, finished, "");
}

void Replicator::failed(const store::Claim &claim,
                        const DoveadmFailure &failure, bool full,
                        store::TimePoint started) {
  const auto finished = store::Clock::now();
  m_metrics.sync(full, false, seconds_between(started, finished));
  publish("replication.failed", claim, full, started, finished,
          failure.message);
  if (failure.kind == DoveadmFailure::Kind::no_such_user)
    return forget(claim, failure.message);
  const auto wait = backoff(m_options, claim.failures + 1);
  LOG_WARN("replication: sync of ", claim.user, " failed: ", failure.message,
           "; retrying in ", duration_cast<milliseconds>(wait).count(), " ms");
  const auto stored = m_store.fail(claim, m_options.owner, failure.message,
                                   finished, finished + wait);
  if (!stored) {
    store_failed("fail", stored.error());
    unsettled(claim, "fail",
              [this, claim, message = failure.message, finished, wait]() {
                return m_store.fail(claim, m_options.owner, message, finished,
                                    store::Clock::now() + wait);
              });
  }
}

void Replicator::unsettled(
    const store::Claim &claim, const char *operation,
    std::function<store::ReplicationStore::Result<void>()> write) {
  std::lock_guard lock(m_mutex);
  m_unsettled.insert_or_assign(
      claim.user, Unsettled{m_next_unsettled++, operation, std::move(write)});
}

void Replicator::settle() {
  std::lock_guard settling(m_settle_mutex);
  std::vector<std::pair<std::string, Unsettled>> pending;
  {
    std::lock_guard lock(m_mutex);
    for (const auto &entry : m_unsettled)
      if (m_running.count(entry.first) == 0)
        pending.push_back(entry);
  }
  std::sort(pending.begin(), pending.end(), [](const auto &a, const auto &b) {
    return a.second.id < b.second.id;
  });
  for (const auto &[user, outcome] : pending) {
    const auto written = outcome.write();
    if (!written) {
      store_failed(outcome.operation, written.error());
      return; // the store still fails: the next round tries again
    }
    LOG_INFO("replication: ", user, ": the ", outcome.operation,
             " the store missed is written");
    std::lock_guard lock(m_mutex);
    const auto it = m_unsettled.find(user);
    if (it != m_unsettled.end() && it->second.id == outcome.id)
      m_unsettled.erase(it);
  }
}

void Replicator::publish(const char *type, const store::Claim &claim, bool full,
                         store::TimePoint started, store::TimePoint finished,
                         const std::string &error) {
  auto event = core::Event::internal(type);
  event.message.set("user", claim.user);
  event.message.set("kind", std::string(full ? "full" : "fast"));
  event.message.set("priority", std::string(priority_name(claim.priority)));
  event.message.set("started_us", micros(started));
  event.message.set("finished_us", micros(finished));
  event.message.set(
      "duration_ms",
      static_cast<std::int64_t>(
          duration_cast<milliseconds>(finished - started).count()));
  if (!error.empty())
    event.message.set("error", error);
  m_publish(std::move(event));
}

void Replicator::keep() {
  while (pause(m_options.keeper_interval)) {
    std::vector<store::Claim> running;
    {
      std::lock_guard lock(m_mutex);
      for (const auto &entry : m_running)
        running.push_back(entry.second);
    }
    const auto now = store::Clock::now();
    for (const auto &claim : running) {
      const auto renewed =
          m_store.renew(claim, m_options.owner, now, m_options.lease);
      if (!renewed)
        store_failed("renew", renewed.error());
    }
    settle();
    const auto status = m_store.status(now);
    if (!status) {
      store_failed("status", status.error());
      continue;
    }
    m_metrics.queue(*status);
    // answering reads is not enough: a full disk still answers them
    if (m_store.check() && !m_store_ok.exchange(true)) {
      LOG_INFO("replication: store answers again");
      wake();
    }
  }
}

void Replicator::sweep_loop() {
  auto next = steady_clock::now();
  while (true) {
    const auto now = steady_clock::now();
    if (now >= next) {
      const auto swept = sweep();
      next = now +
             (swept ? m_options.sweep_interval
                    : std::min(m_options.sweep_interval, m_options.retry_max));
    }
    const auto left = duration_cast<milliseconds>(next - steady_clock::now());
    if (!pause(std::max(left, milliseconds(1))))
      return;
  }
}

tl::expected<std::size_t, std::string> Replicator::sweep() {
  const auto started = steady_clock::now();
  const auto took = [&] {
    return duration<double>(steady_clock::now() - started).count();
  };
  const auto users = m_doveadm.list_users("*");
  doveadm_answered("user", users ? nullptr : &users.error());
  if (!users) {
    m_metrics.sweep(false, took(), 0);
    LOG_WARN("replication: background sweep: listing users failed: ",
             users.error().message);
    return tl::unexpected(users.error().message);
  }
  const auto now = store::Clock::now();
  std::vector<store::SyncRequest> batch;
  for (std::size_t i = 0; i < users->size(); i++) {
    batch.push_back({(*users)[i], store::Priority::none, now, false,
                     now - m_options.sweep_threshold});
    if (batch.size() < k_sweep_batch && i + 1 < users->size())
      continue;
    const auto stored = m_store.enqueue(batch);
    if (!stored) {
      store_failed("enqueue", stored.error());
      m_metrics.sweep(false, took(), users->size());
      return tl::unexpected(stored.error().message);
    }
    batch.clear();
  }
  m_metrics.sweep(true, took(), users->size());
  LOG_INFO("replication: background sweep listed ", users->size(), " user(s)");
  wake();
  return users->size();
}

} // namespace dovewarden::replication
