"""Which parsing kernel runs: the native one (``analyzer._native``, built from native/ when a
Rust toolchain is present at install time) or the Arrow path alone.

``LOGSCAN_KERNEL=arrow|native`` forces one; unset, the native kernel runs when it is built.
"""

from __future__ import annotations

import os
from types import ModuleType

from ..errors import AnalyzerError

ENV = "LOGSCAN_KERNEL"
KERNELS = ("arrow", "native")

_built: ModuleType | None
try:
    from .. import _native  # type: ignore[attr-defined, unused-ignore]

    _built = _native
except ImportError:  # installed without a Rust toolchain: the Arrow path alone
    _built = None


def native_available() -> bool:
    """Whether this install has the native kernel built."""
    return _built is not None


def active_kernel() -> str:
    """``native`` or ``arrow``: the one ``LOGSCAN_KERNEL`` forces, else native when built."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced and forced not in KERNELS:
        raise AnalyzerError(f"{ENV}={forced!r}: use arrow or native")
    if forced == "native" and _built is None:
        raise AnalyzerError(
            f"{ENV}=native: this install has no native kernel (it is built when a Rust "
            "toolchain is present at install time; see the README, Native kernel)")
    if forced:
        return forced
    return "native" if _built is not None else "arrow"


def native_module() -> ModuleType | None:
    """The native kernel's module when it is the active kernel, else None."""
    return _built if active_kernel() == "native" else None


def version_text(version: str) -> str:
    """``logscan --version``: the version, and the kernel that parses."""
    built = "" if native_available() else " (the native kernel is not built in this install)"
    return f"logscan, version {version}\nkernel: {active_kernel()}{built}"
