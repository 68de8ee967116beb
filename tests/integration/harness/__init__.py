"""Integration-test harness: a throw-away Dovecot (2.3 or 2.4), the real dovewardend, clients."""

from .util import LIVE, REPO, Timeout, diagnostics, free_port, report_figures, wait_until
from .dovecot import DOMAIN, USERS, Dovecot, dovecot_series, install, not_on, plugin_path, sink_module_path
from .clients import Imap, RawImap, lmtp_deliver, make_message, pop3
from .daemon import Daemon, Stream, daemon_path, parse_metrics
from .env import Env, by_session, split_by_command
from .pair import Pair, doveadm_http, mailbox_state, state_diff, wait_converged
from .receiver import Receiver, hang, respond, sign, verify
from .redis import Redis, Sentinel

__all__ = [
    "LIVE", "REPO", "Timeout", "diagnostics", "free_port", "report_figures", "wait_until",
    "DOMAIN", "USERS", "Dovecot", "dovecot_series", "install", "not_on", "plugin_path", "sink_module_path",
    "Imap", "RawImap", "lmtp_deliver", "make_message", "pop3",
    "Daemon", "Stream", "daemon_path", "parse_metrics",
    "Env", "by_session", "split_by_command",
    "Pair", "doveadm_http", "mailbox_state", "state_diff", "wait_converged",
    "Receiver", "hang", "respond", "sign", "verify",
    "Redis", "Sentinel",
]
