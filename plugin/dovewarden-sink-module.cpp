// The sink module's only export: the functions of dovewarden-sink.h, for
// the plugin to find with one dlsym()
#include "dovewarden-sink.h"

extern "C" {

extern const dovewarden_sink_api dovewarden_sink_module_api
    __attribute__((visibility("default")));

// one member a line, in the order of dovewarden_sink_api
// clang-format off
const dovewarden_sink_api dovewarden_sink_module_api = {
    DOVEWARDEN_SINK_API_VERSION,
    dovewarden_sink_create,
    dovewarden_sink_destroy,
    dovewarden_sink_begin,
    dovewarden_sink_add_str,
    dovewarden_sink_add_int,
    dovewarden_sink_add_strv,
    dovewarden_sink_add_encoded,
    dovewarden_sink_queue,
    dovewarden_sink_flush,
    dovewarden_sink_linger,
    dovewarden_sink_batched,
    dovewarden_sink_dropped,
    dovewarden_sink_is_foreign,
};
// clang-format on

} // extern "C"
