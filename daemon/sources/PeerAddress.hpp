#pragma once

#include "core/Event.hpp"

#include <optional>
#include <string_view>

namespace dovewarden::sources {

// Returns the credentials in the peer address libzmq gives a ZAP handler
// and each message ("Peer-Address") for an ipc peer: the kernel's uid, gid
// and pid of the connecting process, appended as ":UID:GID:PID" (libzmq's
// stream_engine_base.cpp). Nothing if address carries none. Only for ipc
// sockets: an IPv6 tcp address such as fe80::1:2:3 would read as one.
std::optional<core::Sender> peer_credentials(std::string_view address);

} // namespace dovewarden::sources
