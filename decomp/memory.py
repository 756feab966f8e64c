"""Peak resident memory of this process over a block of work (Linux, with a fallback)."""

from __future__ import annotations

import ctypes
import gc
import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def _status_mb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field):
                return float(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _vm_hwm_mb() -> float | None:
    return _status_mb("VmHWM:")


def resident_mb() -> float:
    """This process's resident size now, MiB (its lifetime peak where /proc is missing)."""
    rss = _status_mb("VmRSS:")
    if rss is not None:
        return rss
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: the largest peak noted for work done outside this process (a child solve: this
#: process's size at the fork plus the child's growth), MiB, since the last reset
_noted: list[float] = [0.0]


def note_peak(mb: float) -> None:
    """Note a peak reached together with work outside this process (a forked solve), so
    that :class:`PeakMemory` counts it."""
    _noted[0] = max(_noted[0], float(mb))


class PeakMemory:
    """Context manager measuring the peak RSS (MiB) reached inside the block.

    On Linux it resets the kernel's high-water mark on entry (``clear_refs`` = 5), so the
    value belongs to the block; elsewhere it falls back to the process-lifetime peak.
    Peaks noted for child processes in the block (:func:`note_peak`) count too.
    """

    def __init__(self) -> None:
        self.peak_mb: float = 0.0

    def __enter__(self) -> PeakMemory:
        _noted[0] = 0.0
        try:
            _CLEAR.write_text("5")
        except OSError:
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_mb = self.read()

    @staticmethod
    def read() -> float:
        """Current high-water mark in MiB, child solves' noted peaks included."""
        hwm = _vm_hwm_mb()
        if hwm is None:
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return max(hwm, _noted[0])


def _libc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _libc_trim()


def release_free_memory() -> None:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``; a no-op
    elsewhere). Freed small blocks (a pool's columns, a solver's work arrays) otherwise
    stay in the process's resident set, and the large arrays of the next horizon model,
    mapped separately, come on top of them."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
