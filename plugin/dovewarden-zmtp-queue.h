#ifndef DOVEWARDEN_ZMTP_QUEUE_H
#define DOVEWARDEN_ZMTP_QUEUE_H

/* The ZeroMQ messages waiting to be written, each one or more frames (an
   event each) already framed for ZMTP, and the one being built.

   Bounded in messages: a message that finds the queue full is dropped
   whole and its frames counted. A message is written whole or not at all
   as far as the peer is concerned: when the connection is lost part-way,
   it goes again from its start on the next one.

   Plain C on the C library alone: the unit tests, the fuzzers and the
   benchmarks build it without Dovecot. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dovewarden_zmtp_queue;

struct dovewarden_zmtp_queue *dovewarden_zmtp_queue_create(unsigned int limit);
void dovewarden_zmtp_queue_destroy(struct dovewarden_zmtp_queue **queue);

/* Add a frame (one event) to the open message. Returns false when there
   is no memory for it: the open message is then dropped at close. */
bool dovewarden_zmtp_queue_add_frame(struct dovewarden_zmtp_queue *queue,
				     const unsigned char *data, size_t size);
/* Frames in the open message. */
unsigned int dovewarden_zmtp_queue_open_frames(
	const struct dovewarden_zmtp_queue *queue);
/* Close the open message: it joins the queue, or is dropped and counted
   when the queue holds limit messages already. Nothing open: no-op. */
void dovewarden_zmtp_queue_close(struct dovewarden_zmtp_queue *queue);

/* Messages waiting (the one written in part included). */
unsigned int dovewarden_zmtp_queue_count(
	const struct dovewarden_zmtp_queue *queue);
/* Fill iov with what is to be written next, the head message's unwritten
   rest first; returns how many entries were filled (0: nothing waits). */
unsigned int dovewarden_zmtp_queue_iov(const struct dovewarden_zmtp_queue *queue,
				       struct iovec *iov, unsigned int max);
/* size bytes of what iov() gave were written: whole messages leave. */
void dovewarden_zmtp_queue_advance(struct dovewarden_zmtp_queue *queue,
				   size_t size);
/* The connection was lost: a message written in part goes again whole. */
void dovewarden_zmtp_queue_rewind(struct dovewarden_zmtp_queue *queue);
/* Drop every waiting message and count its frames (the process ends and
   the peer is gone). */
void dovewarden_zmtp_queue_drop_all(struct dovewarden_zmtp_queue *queue);
/* Frames (events) dropped since the queue was made. */
uint64_t dovewarden_zmtp_queue_dropped(const struct dovewarden_zmtp_queue *queue);

#ifdef __cplusplus
}
#endif

#endif
