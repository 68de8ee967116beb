// The sink module's only export: the functions of dovewarden-sink.h, for
// the plugin to find with one dlsym()
#include "dovewarden-sink.h"

extern "C" {

__attribute__((visibility("default")))
extern const dovewarden_sink_api dovewarden_sink_module_api;

const dovewarden_sink_api dovewarden_sink_module_api = {
    DOVEWARDEN_SINK_API_VERSION,
    dovewarden_sink_create,
    dovewarden_sink_destroy,
    dovewarden_sink_begin,
    dovewarden_sink_add_str,
    dovewarden_sink_add_int,
    dovewarden_sink_add_strv,
    dovewarden_sink_queue,
    dovewarden_sink_flush,
    dovewarden_sink_batched,
    dovewarden_sink_dropped,
    dovewarden_sink_is_foreign,
};

} // extern "C"
