/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "dovewarden-zmtp-queue.h"
#include "dovewarden-zmtp-codec.h"

#include <stdlib.h>
#include <string.h>

/* most batches are an event or two of a few hundred bytes */
#define DOVEWARDEN_ZMTP_MESSAGE_INITIAL_SIZE 1024
/* a busy session's batches are up to DOVEWARDEN_SINK_MAX_BATCH events:
   the memory they grew to is kept for the next, up to this */
#define DOVEWARDEN_ZMTP_SPARE_MAX_SIZE (64 * 1024)

/* One ZeroMQ message: its frames, headers and bodies, as they go on the
   wire. The message being built grows in place, so one allocation holds
   the message whole. */
struct dovewarden_zmtp_message {
	struct dovewarden_zmtp_message *next;
	size_t size, alloc_size;
	/* where the last frame's flags are: MORE is set on them when
	   another frame follows */
	size_t last_flags;
	unsigned int frames;
	unsigned char data[];
};

struct dovewarden_zmtp_queue {
	unsigned int limit;
	/* the waiting messages, oldest first */
	struct dovewarden_zmtp_message *head, *tail;
	unsigned int count;
	/* bytes of the head message already written */
	size_t head_written;
	/* the message being built, or NULL */
	struct dovewarden_zmtp_message *open;
	/* a message written or dropped, that the next one is built in: it
	   needs no allocation */
	struct dovewarden_zmtp_message *spare;
	/* an add_frame() of the open message failed: it is dropped whole */
	bool open_failed;
	unsigned int open_frames;
	uint64_t dropped;
};

struct dovewarden_zmtp_queue *dovewarden_zmtp_queue_create(unsigned int limit)
{
	struct dovewarden_zmtp_queue *queue;

	queue = calloc(1, sizeof(*queue));
	if (queue != NULL)
		queue->limit = limit;
	return queue;
}

static void dovewarden_zmtp_queue_release(struct dovewarden_zmtp_queue *queue,
					  struct dovewarden_zmtp_message *msg)
{
	if (queue->spare == NULL &&
	    msg->alloc_size <= DOVEWARDEN_ZMTP_SPARE_MAX_SIZE)
		queue->spare = msg;
	else
		free(msg);
}

static void dovewarden_zmtp_queue_free_list(struct dovewarden_zmtp_queue *queue)
{
	struct dovewarden_zmtp_message *msg, *next;

	for (msg = queue->head; msg != NULL; msg = next) {
		next = msg->next;
		dovewarden_zmtp_queue_release(queue, msg);
	}
	queue->head = queue->tail = NULL;
	queue->count = 0;
	queue->head_written = 0;
}

void dovewarden_zmtp_queue_destroy(struct dovewarden_zmtp_queue **_queue)
{
	struct dovewarden_zmtp_queue *queue = *_queue;

	if (queue == NULL)
		return;
	*_queue = NULL;
	dovewarden_zmtp_queue_free_list(queue);
	free(queue->open);
	free(queue->spare);
	free(queue);
}

/* Make room for size more bytes in the open message. */
static bool
dovewarden_zmtp_queue_reserve(struct dovewarden_zmtp_queue *queue, size_t size)
{
	struct dovewarden_zmtp_message *msg = queue->open;
	size_t used, alloc_size;

	if (msg == NULL && queue->spare != NULL) {
		msg = queue->open = queue->spare;
		queue->spare = NULL;
		msg->next = NULL;
		msg->size = 0;
		msg->frames = 0;
	}
	if (msg != NULL && size <= msg->alloc_size - msg->size)
		return true;
	used = msg == NULL ? 0 : msg->size;
	alloc_size = msg == NULL ? DOVEWARDEN_ZMTP_MESSAGE_INITIAL_SIZE :
				   msg->alloc_size;
	if (size > SIZE_MAX / 2 - sizeof(*msg) - used)
		return false;
	while (alloc_size - used < size)
		alloc_size *= 2;
	msg = realloc(msg, sizeof(*msg) + alloc_size);
	if (msg == NULL)
		return false;
	if (queue->open == NULL) {
		msg->next = NULL;
		msg->size = 0;
		msg->frames = 0;
	}
	msg->alloc_size = alloc_size;
	queue->open = msg;
	return true;
}

bool dovewarden_zmtp_queue_add_frame(struct dovewarden_zmtp_queue *queue,
				     const unsigned char *data, size_t size)
{
	unsigned char header[DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE];
	struct dovewarden_zmtp_message *msg;
	size_t header_size;

	queue->open_frames++;
	if (queue->open_failed)
		return false;
	header_size = dovewarden_zmtp_frame_header(header, size, false);
	if (size > SIZE_MAX - header_size ||
	    !dovewarden_zmtp_queue_reserve(queue, header_size + size)) {
		queue->open_failed = true;
		return false;
	}
	msg = queue->open;
	if (msg->frames > 0)
		msg->data[msg->last_flags] |= DOVEWARDEN_ZMTP_FLAG_MORE;
	msg->last_flags = msg->size;
	memcpy(msg->data + msg->size, header, header_size);
	if (size > 0)
		memcpy(msg->data + msg->size + header_size, data, size);
	msg->size += header_size + size;
	msg->frames++;
	return true;
}

unsigned int
dovewarden_zmtp_queue_open_frames(const struct dovewarden_zmtp_queue *queue)
{
	return queue->open_frames;
}

void dovewarden_zmtp_queue_close(struct dovewarden_zmtp_queue *queue)
{
	struct dovewarden_zmtp_message *msg = queue->open;

	if (queue->open_frames == 0)
		return;
	if (queue->open_failed || queue->count >= queue->limit) {
		queue->dropped += queue->open_frames;
		if (msg != NULL)
			dovewarden_zmtp_queue_release(queue, msg);
	} else {
		msg->next = NULL;
		if (queue->tail == NULL)
			queue->head = msg;
		else
			queue->tail->next = msg;
		queue->tail = msg;
		queue->count++;
	}
	queue->open = NULL;
	queue->open_failed = false;
	queue->open_frames = 0;
}

unsigned int
dovewarden_zmtp_queue_count(const struct dovewarden_zmtp_queue *queue)
{
	return queue->count;
}

unsigned int
dovewarden_zmtp_queue_iov(const struct dovewarden_zmtp_queue *queue,
			  struct iovec *iov, unsigned int max)
{
	const struct dovewarden_zmtp_message *msg = queue->head;
	size_t skip = queue->head_written;
	unsigned int n = 0;

	for (; msg != NULL && n < max; msg = msg->next) {
		iov[n].iov_base = (void *)(msg->data + skip);
		iov[n].iov_len = msg->size - skip;
		skip = 0;
		n++;
	}
	return n;
}

void dovewarden_zmtp_queue_advance(struct dovewarden_zmtp_queue *queue,
				   size_t size)
{
	struct dovewarden_zmtp_message *msg;
	size_t rest;

	while (size > 0 && queue->head != NULL) {
		msg = queue->head;
		rest = msg->size - queue->head_written;
		if (size < rest) {
			queue->head_written += size;
			return;
		}
		size -= rest;
		queue->head = msg->next;
		if (queue->head == NULL)
			queue->tail = NULL;
		queue->count--;
		queue->head_written = 0;
		dovewarden_zmtp_queue_release(queue, msg);
	}
}

void dovewarden_zmtp_queue_rewind(struct dovewarden_zmtp_queue *queue)
{
	queue->head_written = 0;
}

void dovewarden_zmtp_queue_drop_all(struct dovewarden_zmtp_queue *queue)
{
	const struct dovewarden_zmtp_message *msg;

	for (msg = queue->head; msg != NULL; msg = msg->next)
		queue->dropped += msg->frames;
	dovewarden_zmtp_queue_free_list(queue);
}

uint64_t
dovewarden_zmtp_queue_dropped(const struct dovewarden_zmtp_queue *queue)
{
	return queue->dropped;
}
