"""Dovecot's configuration syntax, 2.3 and 2.4, in one place.

Dovecot.write_files() renders one template; every line whose spelling
differs between the two versions comes from the version's Syntax below
(the 2.3 → 2.4 table of ../shared/DESIGN.md, "Dovecot 2.4").
"""


class Syntax23:
    series = "2.3"

    def __init__(self, version):
        self.version = version

    def preamble(self):
        return ""

    def auth(self):
        return "disable_plaintext_auth = no\nauth_username_format = %Ln\n"

    def mail_location(self):
        return "mail_location = maildir:~/Maildir\n"

    def passwd_file(self, kind, path):
        """A passdb or userdb (kind) reading the passwd-file at path."""
        return f"{kind} {{\n  driver = passwd-file\n  args = {path}\n}}\n"

    def listen_address(self, address):
        return f"address = {address}"

    def mail_plugins(self, names):
        return f"mail_plugins = $mail_plugins {' '.join(names)}\n"

    def plugin_settings(self, settings):
        body = "".join(f"  {k} = {v}\n" for k, v in settings.items())
        return f"plugin {{\n{body}}}\n"

    def exporter_settings(self, url, timeout_ms):
        return {"format": "json", "format_args": "time-rfc3339", "transport": "http-post",
                "transport_args": url, "transport_timeout": f"{timeout_ms}msec"}


class Syntax24(Syntax23):
    series = "2.4"

    def preamble(self):
        # must come first; it also sets the defaults of this version
        return (f"dovecot_config_version = {self.version}\n"
                f"dovecot_storage_version = {self.version}\n")

    def auth(self):
        # %Ln passes doveconf, then every login fails
        return "auth_allow_cleartext = yes\nauth_username_format = %{user | username | lower}\n"

    def mail_location(self):
        return "mail_driver = maildir\nmail_path = ~/Maildir\n"

    def passwd_file(self, kind, path):
        return f"{kind} passwd-file {{\n  passwd_file_path = {path}\n}}\n"

    def listen_address(self, address):
        return f"listen = {address}"

    def mail_plugins(self, names):
        # `$mail_plugins` passes doveconf, then fails at run time
        return "mail_plugins {\n" + "".join(f"  {n} = yes\n" for n in names) + "}\n"

    def plugin_settings(self, settings):
        # top level, declared by the plugin's settings module
        return "".join(f"{k} = {v}\n" for k, v in settings.items())

    def exporter_settings(self, url, timeout_ms):
        return {"driver": "http-post", "format": "json", "time_format": "rfc3339",
                "http_post_url": url, "http_client_request_absolute_timeout": f"{timeout_ms}ms"}


def syntax_for(version):
    """The Syntax of Dovecot `version` (e.g. "2.4.1")."""
    major_minor = tuple(int(x) for x in version.split(".")[:2])
    return (Syntax24 if major_minor >= (2, 4) else Syntax23)(version)


def event_exporter(syntax, name, url, event_filter, timeout_ms=500):
    """An event_exporter `name` posting JSON to url, and the metric that feeds it."""
    body = "".join(f"  {k} = {v}\n" for k, v in syntax.exporter_settings(url, timeout_ms).items())
    return (f"event_exporter {name} {{\n{body}}}\n"
            f"metric {name}_events {{\n  exporter = {name}\n  filter = {event_filter}\n}}\n")
