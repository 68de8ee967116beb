/* Copyright (c) dovewarden authors, see the included COPYING file */

// Dovecot's lib.h comes first, as in every Dovecot source
// clang-format off
#include "lib.h"
#include "ioloop.h"
#include "bench-plugin-cost-dovecot.h"
#include "dovewarden-zmtp.h"
// clang-format on

static struct ioloop *bench_ioloop;

void bench_dovecot_init(void) {
  lib_init();
  bench_ioloop = io_loop_create();
}

void bench_dovecot_deinit(void) {
  io_loop_destroy(&bench_ioloop);
  lib_deinit();
}

void bench_dovecot_run(unsigned int msecs) {
  struct timeout *to;

  to = timeout_add_short(msecs, io_loop_stop, bench_ioloop);
  io_loop_run(bench_ioloop);
  timeout_remove(&to);
}

const struct dovewarden_sink_api *bench_dovecot_zmtp_sink(void) {
  return &dovewarden_zmtp_sink_api;
}
