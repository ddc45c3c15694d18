"""Paths of a system whose root is a directory of this one (a chroot, a container's file
system, a copy of another host's ``/etc``): ``/etc/nginx/nginx.conf`` of the system at
``/srv/box`` is ``/srv/box/etc/nginx/nginx.conf`` here, and its symbolic links that name
absolute paths (Debian's ``sites-enabled/default -> /etc/nginx/sites-available/default``) lead
inside ``/srv/box``, never to this system's files.
"""

from __future__ import annotations

import os
from collections import deque

_MAX_LINKS = 40  # as Linux's path resolution (ELOOP)


def rooted(path: str, root: str) -> str:
    """The path, on this system, of the absolute ``path`` of the system at ``root``."""
    if root == "/" or not os.path.isabs(path):
        return path
    return os.path.join(root, path.lstrip("/"))


def resolve(path: str, root: str) -> str:
    """``os.path.realpath`` of ``path`` (a path on this system), with the symbolic links under
    ``root`` followed as the system at ``root`` follows them; a path outside ``root`` is
    resolved as usual. Components that do not exist are kept as they are."""
    if root == "/":
        return os.path.realpath(path)
    path = os.path.abspath(path)
    real_root = os.path.realpath(root)
    for base in (os.path.abspath(root), real_root):
        if os.path.commonpath([path, base]) == base:
            inside = os.path.relpath(path, base)
            break
    else:
        return os.path.realpath(path)
    parts: list[str] = []
    pending = deque(p for p in inside.split(os.sep) if p not in ("", "."))
    links = 0
    while pending:
        part = pending.popleft()
        if part == "..":
            if parts:
                parts.pop()
            continue
        here = os.path.join(real_root, *parts, part)
        if not os.path.islink(here):
            parts.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            return here  # a loop: left for the reader to fail on
        target = os.readlink(here)
        if os.path.isabs(target):
            parts = []
        pending.extendleft(reversed([p for p in target.split(os.sep) if p not in ("", ".")]))
    return os.path.join(real_root, *parts)


def is_under(path: str, directory: str, root: str) -> bool:
    """Whether ``path`` is in ``directory`` (both on this system), through symbolic links."""
    places = {os.path.abspath(directory), resolve(directory, root)}
    seen = {os.path.abspath(path), os.path.realpath(path), resolve(path, root)}
    return any(os.path.commonpath([p, d]) == d for p in seen for d in places)
