"""The server's own configuration, found by itself: an input under a standard log directory
(``/var/log/nginx``, Debian's ``/var/log/apache2``, Red Hat's ``/var/log/httpd``) gets the
format of the directive that writes it in the standard configuration of that server, when no
format and no configuration was given.

When that configuration cannot be read or writes no such log, the input's format is detected
as any other's, and the report says why the configuration was not used. ``LOGSCAN_SYSROOT``
names the root of the system whose logs and configuration these are, when it is not this one
(a chroot, a container's file system): ``/etc`` and ``/var/log`` are then read under it, and
so are the absolute paths the configuration names.
"""

from __future__ import annotations

import os

from ..errors import AnalyzerError
from .serverconfig import Assignment, ServerFormats, read_server_config
from .sysroot import is_under, resolve, rooted

SYSROOT_VARIABLE = "LOGSCAN_SYSROOT"
# (the log directory, the main configuration of the server that writes there)
STANDARD = (
    ("/var/log/nginx", "/etc/nginx/nginx.conf"),
    ("/var/log/apache2", "/etc/apache2/apache2.conf"),  # Debian, Ubuntu
    ("/var/log/httpd", "/etc/httpd/conf/httpd.conf"),  # Red Hat, Fedora, CentOS, Amazon Linux
)
_LISTED = 3  # logs a configuration writes, named when it writes none of the input


def sysroot() -> str:
    """The root of the system whose standard configuration is read (``/`` by default)."""
    root = os.environ.get(SYSROOT_VARIABLE, "").strip()
    return os.path.abspath(root) if root else "/"


class StandardConfigs:
    """Formats from the standard configurations, each read once, when an input needs it."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root if root is not None else sysroot()
        self._read: dict[str, ServerFormats | str] = {}

    def lookup(self, path: str) -> tuple[Assignment | None, str]:
        """The format of the directive that writes ``path``, or None and why not (empty when
        ``path`` is under no standard log directory, or its server has no configuration)."""
        for directory, config in STANDARD:
            logs = rooted(directory, self.root)
            if not is_under(path, logs, self.root):
                continue
            main = rooted(config, self.root)
            if not os.path.lexists(resolve(main, self.root)):
                return None, ""
            formats = self._formats(main)
            if isinstance(formats, str):
                return None, (f"{main}, the standard configuration for {logs}, could not be "
                              f"used: {formats}")
            assigned = formats.assign(path)
            if assigned is None:
                return None, (f"{main}, the standard configuration for {logs}, names no format "
                              f"for this file (it writes {_listed(formats)})")
            return Assignment(assigned.format, (
                f"{assigned.detection}; note: {main} was read automatically, as the standard "
                f"configuration for {logs}; --log-format or --server-config chooses otherwise"
            )), ""
        return None, ""

    def _formats(self, main: str) -> ServerFormats | str:
        if main not in self._read:
            try:
                self._read[main] = read_server_config([main], root=self.root)
            except AnalyzerError as exc:
                self._read[main] = str(exc)
        return self._read[main]


def _listed(formats: ServerFormats) -> str:
    paths = list(dict.fromkeys(t.path for t in formats.targets))
    shown = ", ".join(paths[:_LISTED])
    return shown + (f" and {len(paths) - _LISTED} more" if len(paths) > _LISTED else "")
