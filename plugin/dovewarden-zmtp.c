/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "net.h"
#include "randgen.h"
#include "dovewarden-msgpack.h"
#include "dovewarden-zmtp-codec.h"
#include "dovewarden-zmtp-queue.h"
#include "dovewarden-zmtp.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DOVEWARDEN_ZMTP_IPC_PREFIX "ipc://"
#define DOVEWARDEN_ZMTP_TCP_PREFIX "tcp://"
/* connecting and the peer's greeting and READY together */
#define DOVEWARDEN_ZMTP_HANDSHAKE_TIMEOUT_MSECS 2000
#define DOVEWARDEN_ZMTP_BACKOFF_MIN_MSECS 100
#define DOVEWARDEN_ZMTP_BACKOFF_MAX_MSECS 5000
/* buffers handed to one sendmsg() */
#define DOVEWARDEN_ZMTP_IOV_COUNT 64
/* distinct errors logged per process; more are not */
#define DOVEWARDEN_ZMTP_MAX_LOGGED_ERRORS 8

enum dovewarden_zmtp_state {
	DOVEWARDEN_ZMTP_DISCONNECTED = 0,
	DOVEWARDEN_ZMTP_CONNECTING,
	/* our greeting and READY go out, the peer's come in */
	DOVEWARDEN_ZMTP_HANDSHAKE,
	DOVEWARDEN_ZMTP_READY,
};

struct dovewarden_sink {
	char *endpoint;
	/* ipc://: the socket's path; tcp://: ip and port */
	char *ipc_path;
	struct ip_addr ip;
	in_port_t port;

	/* what begin() puts into every event: host, svc, pid and inst
	   encoded once */
	struct dovewarden_msgpack process_keys;
	uint64_t seq;
	struct dovewarden_msgpack msgpack;
	/* events whose building failed (no memory) */
	uint64_t unbuilt;

	struct dovewarden_zmtp_queue *queue;
	unsigned int linger_msecs;
	unsigned int generation;

	enum dovewarden_zmtp_state state;
	int fd;
	struct io *io_read, *io_write;
	/* connecting or in the handshake: its deadline; disconnected with
	   messages waiting: the next attempt */
	struct timeout *to;
	unsigned int backoff_msecs;
	/* CLOCK_MONOTONIC msecs before which no connect is tried */
	uint64_t retry_at;

	unsigned char hello[DOVEWARDEN_ZMTP_GREETING_SIZE +
			    DOVEWARDEN_ZMTP_READY_MAX_SIZE];
	size_t hello_size, hello_sent;
	struct dovewarden_zmtp_reader reader;

	struct event *event;
	char *logged_errors[DOVEWARDEN_ZMTP_MAX_LOGGED_ERRORS];
	unsigned int logged_error_count;
	/* in create(): an error goes to its caller, which logs it with the
	   user's prefix */
	bool creating;
	char *create_warning;
	/* in linger(): poll() drives the connection, not the ioloop */
	bool lingering;
};

/* the forks this process made, as seen from the child: a sink made in an
   earlier generation belongs to the parent. Cheaper than getpid(), a
   system call, on every event. */
static unsigned int dovewarden_zmtp_fork_generation = 0;

static void dovewarden_zmtp_count_fork(void)
{
	dovewarden_zmtp_fork_generation++;
}

static void dovewarden_zmtp_watch_forks(void)
{
	static bool registered = FALSE;

	if (!registered) {
		registered = pthread_atfork(NULL, NULL,
			dovewarden_zmtp_count_fork) == 0;
	}
}

static uint64_t dovewarden_zmtp_clock(clockid_t clock, unsigned int per_sec)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return (uint64_t)ts.tv_sec * per_sec +
		(uint64_t)ts.tv_nsec / (1000000000 / per_sec);
}

static uint64_t dovewarden_zmtp_now_msecs(void)
{
	return dovewarden_zmtp_clock(CLOCK_MONOTONIC, 1000);
}

static void dovewarden_zmtp_connect(struct dovewarden_sink *sink);
static void dovewarden_zmtp_output(struct dovewarden_sink *sink);

/* ---- the endpoint ---------------------------------------------------- */

static int
dovewarden_zmtp_parse_tcp(struct dovewarden_sink *sink, const char *hostport,
			  const char **error_r)
{
	const char *host, *port, *p;

	if (hostport[0] == '[') {
		p = strchr(hostport, ']');
		if (p == NULL || p[1] != ':') {
			*error_r = "expected tcp://[IPv6]:PORT";
			return -1;
		}
		host = t_strdup_until(hostport + 1, p);
		port = p + 2;
	} else {
		p = strrchr(hostport, ':');
		if (p == NULL) {
			*error_r = "expected tcp://IP:PORT";
			return -1;
		}
		host = t_strdup_until(hostport, p);
		port = p + 1;
		if (strchr(host, ':') != NULL) {
			*error_r = "an IPv6 address goes in brackets: "
				"tcp://[IPv6]:PORT";
			return -1;
		}
	}
	if (net_addr2ip(host, &sink->ip) < 0) {
		*error_r = t_strdup_printf("%s is not an IP address (a mail "
			"process looks up no host names: give the daemon's "
			"address)", host);
		return -1;
	}
	if (net_str2port(port, &sink->port) < 0 || sink->port == 0) {
		*error_r = t_strdup_printf("%s is not a port", port);
		return -1;
	}
	return 0;
}

static int
dovewarden_zmtp_parse_endpoint(struct dovewarden_sink *sink,
			       const char *endpoint, const char **error_r)
{
	const char *rest, *error;

	if (strncmp(endpoint, DOVEWARDEN_ZMTP_IPC_PREFIX,
		    strlen(DOVEWARDEN_ZMTP_IPC_PREFIX)) == 0) {
		rest = endpoint + strlen(DOVEWARDEN_ZMTP_IPC_PREFIX);
		if (*rest == '\0') {
			error = "expected ipc://PATH";
		} else {
			sink->ipc_path = i_strdup(rest);
			return 0;
		}
	} else if (strncmp(endpoint, DOVEWARDEN_ZMTP_TCP_PREFIX,
			   strlen(DOVEWARDEN_ZMTP_TCP_PREFIX)) == 0) {
		rest = endpoint + strlen(DOVEWARDEN_ZMTP_TCP_PREFIX);
		if (dovewarden_zmtp_parse_tcp(sink, rest, &error) == 0)
			return 0;
	} else {
		error = "expected ipc://PATH or tcp://IP:PORT";
	}
	*error_r = t_strdup_printf("dovewarden_endpoint=%s: %s",
				   endpoint, error);
	return -1;
}

/* ---- errors ---------------------------------------------------------- */

/* Log error once per process: a mail process may retry for hours. */
static void dovewarden_zmtp_error(struct dovewarden_sink *sink,
				  const char *error)
{
	unsigned int i;

	for (i = 0; i < sink->logged_error_count; i++) {
		if (strcmp(sink->logged_errors[i], error) == 0)
			return;
	}
	if (sink->logged_error_count == N_ELEMENTS(sink->logged_errors))
		return;
	sink->logged_errors[sink->logged_error_count++] = i_strdup(error);
	if (sink->creating && sink->create_warning == NULL)
		sink->create_warning = i_strdup(error);
	else
		e_error(sink->event, "%s", error);
}

/* A connect() that failed with errno: an absent daemon is what the
   queue is for, anything else is worth a line. */
static void dovewarden_zmtp_connect_error(struct dovewarden_sink *sink)
{
	switch (errno) {
	case ENOENT:
	case ECONNREFUSED:
	case EAGAIN:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return;
	case EACCES:
	case EPERM:
		if (sink->ipc_path != NULL) {
			dovewarden_zmtp_error(sink, t_strdup_printf(
				"ipc socket %s is not writable by uid %u: %m "
				"(check the daemon's DOVEWARDEN_ZMQ_SOCKET_MODE"
				"/GROUP); events will be lost",
				sink->ipc_path, (unsigned int)geteuid()));
			return;
		}
		break;
	default:
		break;
	}
	dovewarden_zmtp_error(sink, t_strdup_printf("connect(%s) failed: %m",
						    sink->endpoint));
}

/* ---- the connection -------------------------------------------------- */

static bool dovewarden_zmtp_unwritten(const struct dovewarden_sink *sink)
{
	switch (sink->state) {
	case DOVEWARDEN_ZMTP_CONNECTING:
		return TRUE;
	case DOVEWARDEN_ZMTP_HANDSHAKE:
		return sink->hello_sent < sink->hello_size;
	case DOVEWARDEN_ZMTP_READY:
		return dovewarden_zmtp_queue_count(sink->queue) > 0;
	case DOVEWARDEN_ZMTP_DISCONNECTED:
		break;
	}
	return FALSE;
}

static bool dovewarden_zmtp_is_foreign(const struct dovewarden_sink *sink)
{
	return sink->generation != dovewarden_zmtp_fork_generation;
}

/* A forked child: the connection is the parent's. Close this copy of
   the fd without a word to the peer, and leave the ioloop's registration
   alone (epoll's is shared with the parent). */
static void dovewarden_zmtp_forget(struct dovewarden_sink *sink)
{
	if (sink->fd != -1)
		i_close_fd(&sink->fd);
	io_remove_closed(&sink->io_read);
	io_remove_closed(&sink->io_write);
	timeout_remove(&sink->to);
	sink->state = DOVEWARDEN_ZMTP_DISCONNECTED;
}

static void dovewarden_zmtp_readable(struct dovewarden_sink *sink);
static void dovewarden_zmtp_writable(struct dovewarden_sink *sink);

static void dovewarden_zmtp_update_io(struct dovewarden_sink *sink)
{
	struct ioloop *ioloop = io_loop_get_root();
	bool can = !sink->lingering && ioloop != NULL && sink->fd != -1;
	bool want_read = can && sink->state >= DOVEWARDEN_ZMTP_HANDSHAKE;
	bool want_write = can && dovewarden_zmtp_unwritten(sink);

	if (!want_read)
		io_remove(&sink->io_read);
	else if (sink->io_read == NULL) {
		sink->io_read = io_add_to(ioloop, sink->fd, IO_READ,
					  dovewarden_zmtp_readable, sink);
	}
	if (!want_write)
		io_remove(&sink->io_write);
	else if (sink->io_write == NULL) {
		sink->io_write = io_add_to(ioloop, sink->fd, IO_WRITE,
					   dovewarden_zmtp_writable, sink);
	}
}

static void dovewarden_zmtp_reconnect(struct dovewarden_sink *sink)
{
	timeout_remove(&sink->to);
	if (dovewarden_zmtp_is_foreign(sink)) {
		dovewarden_zmtp_forget(sink);
		return;
	}
	dovewarden_zmtp_connect(sink);
}

/* Disconnected: connect again when retry_at comes, if messages wait. */
static void dovewarden_zmtp_schedule(struct dovewarden_sink *sink)
{
	struct ioloop *ioloop = io_loop_get_root();
	uint64_t now;

	if (sink->state != DOVEWARDEN_ZMTP_DISCONNECTED || sink->to != NULL ||
	    sink->lingering ||
	    dovewarden_zmtp_queue_count(sink->queue) == 0)
		return;
	now = dovewarden_zmtp_now_msecs();
	if (now >= sink->retry_at)
		dovewarden_zmtp_connect(sink);
	else if (ioloop != NULL) {
		sink->to = timeout_add_to(ioloop,
			(unsigned int)(sink->retry_at - now),
			dovewarden_zmtp_reconnect, sink);
	}
}

static void dovewarden_zmtp_disconnect(struct dovewarden_sink *sink)
{
	io_remove(&sink->io_read);
	io_remove(&sink->io_write);
	timeout_remove(&sink->to);
	if (sink->fd != -1)
		i_close_fd(&sink->fd);
	sink->state = DOVEWARDEN_ZMTP_DISCONNECTED;
	/* a message written in part goes again whole */
	dovewarden_zmtp_queue_rewind(sink->queue);
	sink->retry_at = dovewarden_zmtp_now_msecs() + sink->backoff_msecs;
	sink->backoff_msecs = I_MIN(sink->backoff_msecs * 2,
				    DOVEWARDEN_ZMTP_BACKOFF_MAX_MSECS);
	dovewarden_zmtp_schedule(sink);
}

static void dovewarden_zmtp_handshake_timeout(struct dovewarden_sink *sink)
{
	if (dovewarden_zmtp_is_foreign(sink)) {
		dovewarden_zmtp_forget(sink);
		return;
	}
	/* a connect that takes this long is an absent daemon's */
	if (sink->state == DOVEWARDEN_ZMTP_HANDSHAKE) {
		dovewarden_zmtp_error(sink, t_strdup_printf(
			"%s: no ZMTP handshake within %u ms: is it the "
			"daemon's ZeroMQ PULL socket?", sink->endpoint,
			DOVEWARDEN_ZMTP_HANDSHAKE_TIMEOUT_MSECS));
	}
	dovewarden_zmtp_disconnect(sink);
}

static void dovewarden_zmtp_connect(struct dovewarden_sink *sink)
{
	struct ioloop *ioloop = io_loop_get_root();
	int fd;

	i_assert(sink->state == DOVEWARDEN_ZMTP_DISCONNECTED);

	timeout_remove(&sink->to);
	if (sink->ipc_path != NULL)
		fd = net_connect_unix(sink->ipc_path);
	else
		fd = net_connect_ip(&sink->ip, sink->port, NULL);
	if (fd == -1) {
		dovewarden_zmtp_connect_error(sink);
		dovewarden_zmtp_disconnect(sink);
		return;
	}
	sink->fd = fd;
	sink->state = DOVEWARDEN_ZMTP_CONNECTING;
	sink->hello_sent = 0;
	dovewarden_zmtp_reader_init(&sink->reader);
	if (!sink->lingering && ioloop != NULL) {
		sink->to = timeout_add_to(ioloop,
			DOVEWARDEN_ZMTP_HANDSHAKE_TIMEOUT_MSECS,
			dovewarden_zmtp_handshake_timeout, sink);
	}
	dovewarden_zmtp_update_io(sink);
}

static void dovewarden_zmtp_connected(struct dovewarden_sink *sink)
{
	int err = net_geterror(sink->fd);

	if (err != 0) {
		errno = err;
		dovewarden_zmtp_connect_error(sink);
		dovewarden_zmtp_disconnect(sink);
		return;
	}
	sink->state = DOVEWARDEN_ZMTP_HANDSHAKE;
	dovewarden_zmtp_output(sink);
}

static void dovewarden_zmtp_handshake_done(struct dovewarden_sink *sink)
{
	timeout_remove(&sink->to);
	sink->state = DOVEWARDEN_ZMTP_READY;
	sink->backoff_msecs = DOVEWARDEN_ZMTP_BACKOFF_MIN_MSECS;
	dovewarden_zmtp_output(sink);
}

/* Write what the socket takes: the rest of our greeting and READY, or
   the queued messages. */
static void dovewarden_zmtp_output(struct dovewarden_sink *sink)
{
	struct iovec iov[DOVEWARDEN_ZMTP_IOV_COUNT];
	struct msghdr msg;
	size_t total;
	unsigned int i, count;
	ssize_t ret;

	for (;;) {
		i_zero(&msg);
		if (sink->state == DOVEWARDEN_ZMTP_HANDSHAKE) {
			iov[0].iov_base = sink->hello + sink->hello_sent;
			iov[0].iov_len = sink->hello_size - sink->hello_sent;
			count = iov[0].iov_len == 0 ? 0 : 1;
		} else {
			i_assert(sink->state == DOVEWARDEN_ZMTP_READY);
			count = dovewarden_zmtp_queue_iov(sink->queue, iov,
							  N_ELEMENTS(iov));
		}
		if (count == 0)
			break;
		msg.msg_iov = iov;
		msg.msg_iovlen = count;
		ret = sendmsg(sink->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* the peer went away: EPIPE, ECONNRESET */
			dovewarden_zmtp_disconnect(sink);
			return;
		}
		if (sink->state == DOVEWARDEN_ZMTP_HANDSHAKE)
			sink->hello_sent += ret;
		else
			dovewarden_zmtp_queue_advance(sink->queue, ret);
		for (total = 0, i = 0; i < count; i++)
			total += iov[i].iov_len;
		if ((size_t)ret < total)
			break;
	}
	dovewarden_zmtp_update_io(sink);
}

/* Read what the peer sends: its greeting and READY, then nothing (or
   what the reader skips) until it closes. */
static void dovewarden_zmtp_input(struct dovewarden_sink *sink)
{
	unsigned char buf[1024];
	enum dovewarden_zmtp_read_result result;
	size_t pos, consumed;
	ssize_t ret;

	while (sink->state >= DOVEWARDEN_ZMTP_HANDSHAKE) {
		ret = read(sink->fd, buf, sizeof(buf));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (ret <= 0) {
			/* closed (e.g. the daemon restarts), or reset */
			dovewarden_zmtp_disconnect(sink);
			return;
		}
		for (pos = 0; pos < (size_t)ret; pos += consumed) {
			result = dovewarden_zmtp_reader_feed(&sink->reader,
				buf + pos, ret - pos, &consumed);
			if (result == DOVEWARDEN_ZMTP_READ_FAILED) {
				dovewarden_zmtp_error(sink, t_strdup_printf(
					"%s: %s", sink->endpoint,
					sink->reader.error));
				dovewarden_zmtp_disconnect(sink);
				return;
			}
			if (result == DOVEWARDEN_ZMTP_READ_READY) {
				dovewarden_zmtp_handshake_done(sink);
				if (sink->state != DOVEWARDEN_ZMTP_READY)
					return;
			}
		}
	}
}

static void dovewarden_zmtp_readable(struct dovewarden_sink *sink)
{
	if (dovewarden_zmtp_is_foreign(sink))
		dovewarden_zmtp_forget(sink);
	else
		dovewarden_zmtp_input(sink);
}

static void dovewarden_zmtp_writable(struct dovewarden_sink *sink)
{
	if (dovewarden_zmtp_is_foreign(sink))
		dovewarden_zmtp_forget(sink);
	else if (sink->state == DOVEWARDEN_ZMTP_CONNECTING)
		dovewarden_zmtp_connected(sink);
	else
		dovewarden_zmtp_output(sink);
}

/* ---- the sink API ---------------------------------------------------- */

static struct dovewarden_sink *
dovewarden_zmtp_sink_create(const struct dovewarden_sink_settings *set,
			    const char **warning_r, const char **error_r)
{
	struct dovewarden_sink *sink;
	uint64_t inst;

	*warning_r = NULL;
	sink = i_new(struct dovewarden_sink, 1);
	if (dovewarden_zmtp_parse_endpoint(sink, set->endpoint, error_r) < 0) {
		i_free(sink);
		return NULL;
	}
	dovewarden_zmtp_watch_forks();
	sink->generation = dovewarden_zmtp_fork_generation;
	sink->endpoint = i_strdup(set->endpoint);
	random_fill(&inst, sizeof(inst));
	dovewarden_msgpack_init(&sink->process_keys);
	dovewarden_msgpack_begin_keys(&sink->process_keys);
	dovewarden_msgpack_add_str(&sink->process_keys, "host", set->host);
	dovewarden_msgpack_add_str(&sink->process_keys, "svc", set->service);
	dovewarden_msgpack_add_int(&sink->process_keys, "pid", getpid());
	dovewarden_msgpack_add_str(&sink->process_keys, "inst",
				   t_strdup_printf("%016"PRIx64, inst));
	dovewarden_msgpack_init(&sink->msgpack);
	sink->queue = dovewarden_zmtp_queue_create(set->queue_limit);
	if (sink->queue == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "dovewarden: out of memory");
	sink->linger_msecs = set->linger_msecs;

	sink->fd = -1;
	sink->backoff_msecs = DOVEWARDEN_ZMTP_BACKOFF_MIN_MSECS;
	dovewarden_zmtp_greeting(sink->hello);
	sink->hello_size = DOVEWARDEN_ZMTP_GREETING_SIZE +
		dovewarden_zmtp_ready(sink->hello +
				      DOVEWARDEN_ZMTP_GREETING_SIZE);
	sink->event = event_create(NULL);
	event_set_append_log_prefix(sink->event, "dovewarden: ");

	/* as libzmq does: the connection is there by the first flush */
	sink->creating = TRUE;
	dovewarden_zmtp_connect(sink);
	sink->creating = FALSE;
	*warning_r = sink->create_warning;
	return sink;
}

static void dovewarden_zmtp_sink_destroy(struct dovewarden_sink **_sink)
{
	struct dovewarden_sink *sink = *_sink;
	unsigned int i;

	*_sink = NULL;
	if (dovewarden_zmtp_is_foreign(sink))
		dovewarden_zmtp_forget(sink);
	else {
		io_remove(&sink->io_read);
		io_remove(&sink->io_write);
		timeout_remove(&sink->to);
		if (sink->fd != -1)
			i_close_fd(&sink->fd);
	}
	dovewarden_zmtp_queue_destroy(&sink->queue);
	dovewarden_msgpack_free(&sink->process_keys);
	dovewarden_msgpack_free(&sink->msgpack);
	event_unref(&sink->event);
	for (i = 0; i < sink->logged_error_count; i++)
		i_free(sink->logged_errors[i]);
	i_free(sink->create_warning);
	i_free(sink->endpoint);
	i_free(sink->ipc_path);
	i_free(sink);
}

static void dovewarden_zmtp_sink_begin(struct dovewarden_sink *sink,
				       const char *type)
{
	struct dovewarden_msgpack *mp = &sink->msgpack;

	dovewarden_msgpack_begin(mp, type);
	dovewarden_msgpack_add_uint(mp, "ts",
		dovewarden_zmtp_clock(CLOCK_REALTIME, 1000000));
	dovewarden_msgpack_add_encoded(mp, &sink->process_keys);
	dovewarden_msgpack_add_uint(mp, "seq", ++sink->seq);
}

static void dovewarden_zmtp_sink_add_str(struct dovewarden_sink *sink,
					 const char *key, const char *value)
{
	if (value != NULL)
		dovewarden_msgpack_add_str(&sink->msgpack, key, value);
}

static void dovewarden_zmtp_sink_add_int(struct dovewarden_sink *sink,
					 const char *key, int64_t value)
{
	dovewarden_msgpack_add_int(&sink->msgpack, key, value);
}

static void
dovewarden_zmtp_sink_add_strv(struct dovewarden_sink *sink, const char *key,
			      const char *const *values, unsigned int count)
{
	dovewarden_msgpack_add_strv(&sink->msgpack, key, values, count);
}

static void
dovewarden_zmtp_sink_add_encoded(struct dovewarden_sink *sink,
				 const struct dovewarden_msgpack *keys)
{
	dovewarden_msgpack_add_encoded(&sink->msgpack, keys);
}

static void dovewarden_zmtp_sink_flush(struct dovewarden_sink *sink)
{
	dovewarden_zmtp_queue_close(sink->queue);
	if (dovewarden_zmtp_queue_count(sink->queue) == 0)
		return;
	if (dovewarden_zmtp_is_foreign(sink)) {
		/* the caller makes a sink of its own */
		return;
	}
	if (sink->state == DOVEWARDEN_ZMTP_READY)
		dovewarden_zmtp_output(sink);
	else
		dovewarden_zmtp_schedule(sink);
}

static void dovewarden_zmtp_sink_queue(struct dovewarden_sink *sink)
{
	const unsigned char *data;
	size_t size;

	if (!dovewarden_msgpack_finish(&sink->msgpack, &data, &size) ||
	    !dovewarden_zmtp_queue_add_frame(sink->queue, data, size))
		sink->unbuilt++;
	else if (dovewarden_zmtp_queue_open_frames(sink->queue) >=
		 DOVEWARDEN_SINK_MAX_BATCH)
		dovewarden_zmtp_sink_flush(sink);
}

/* The process ends: hand the queue over within linger_msecs, with poll()
   on the connection (the ioloop may not run again), trying one connect
   if there is none. What is left is dropped and counted. */
static void dovewarden_zmtp_sink_linger(struct dovewarden_sink *sink)
{
	struct pollfd pfd;
	uint64_t now, deadline;
	bool connect_tried = FALSE;
	int ret;

	dovewarden_zmtp_queue_close(sink->queue);
	if (dovewarden_zmtp_is_foreign(sink))
		return;
	sink->lingering = TRUE;
	dovewarden_zmtp_update_io(sink);
	timeout_remove(&sink->to);
	deadline = dovewarden_zmtp_now_msecs() + sink->linger_msecs;
	while (dovewarden_zmtp_queue_count(sink->queue) > 0) {
		now = dovewarden_zmtp_now_msecs();
		if (now >= deadline)
			break;
		if (sink->state == DOVEWARDEN_ZMTP_DISCONNECTED) {
			if (connect_tried)
				break;
			connect_tried = TRUE;
			dovewarden_zmtp_connect(sink);
			continue;
		}
		i_zero(&pfd);
		pfd.fd = sink->fd;
		if (sink->state >= DOVEWARDEN_ZMTP_HANDSHAKE)
			pfd.events |= POLLIN;
		if (dovewarden_zmtp_unwritten(sink))
			pfd.events |= POLLOUT;
		ret = poll(&pfd, 1, (int)(deadline - now));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0 || (pfd.revents & POLLNVAL) != 0)
			break;
		if (sink->state == DOVEWARDEN_ZMTP_CONNECTING) {
			dovewarden_zmtp_connected(sink);
			continue;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			dovewarden_zmtp_input(sink);
		if ((pfd.revents & POLLOUT) != 0 &&
		    sink->state >= DOVEWARDEN_ZMTP_HANDSHAKE)
			dovewarden_zmtp_output(sink);
	}
	dovewarden_zmtp_queue_drop_all(sink->queue);
}

static unsigned int
dovewarden_zmtp_sink_batched(const struct dovewarden_sink *sink)
{
	return dovewarden_zmtp_queue_open_frames(sink->queue);
}

static uint64_t dovewarden_zmtp_sink_dropped(const struct dovewarden_sink *sink)
{
	return dovewarden_zmtp_queue_dropped(sink->queue) + sink->unbuilt;
}

static int dovewarden_zmtp_sink_is_foreign(const struct dovewarden_sink *sink)
{
	return dovewarden_zmtp_is_foreign(sink) ? 1 : 0;
}

const struct dovewarden_sink_api dovewarden_zmtp_sink_api = {
	.version = DOVEWARDEN_SINK_API_VERSION,
	.create = dovewarden_zmtp_sink_create,
	.destroy = dovewarden_zmtp_sink_destroy,
	.begin = dovewarden_zmtp_sink_begin,
	.add_str = dovewarden_zmtp_sink_add_str,
	.add_int = dovewarden_zmtp_sink_add_int,
	.add_strv = dovewarden_zmtp_sink_add_strv,
	.add_encoded = dovewarden_zmtp_sink_add_encoded,
	.queue = dovewarden_zmtp_sink_queue,
	.flush = dovewarden_zmtp_sink_flush,
	.linger = dovewarden_zmtp_sink_linger,
	.batched = dovewarden_zmtp_sink_batched,
	.dropped = dovewarden_zmtp_sink_dropped,
	.is_foreign = dovewarden_zmtp_sink_is_foreign,
};
