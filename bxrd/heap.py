"""Keep freed tensor memory in the process for reuse (glibc), instead of handing it back.

Rendering a batch of 1,024 patterns makes dozens of temporaries of 14–18 MB (one float32
pattern block, the band canvas). glibc serves blocks above its mmap threshold (128 kB, raised
only up to the size of the last freed block) with fresh ``mmap`` pages and unmaps them on
``free``, so the next temporary of that size page-faults every page again: measured here, about
30 % of the CPU time of realistic rendering (`scripts/bench_simulation.py`). Raising the mmap
threshold to 32 MiB (glibc's maximum on 64-bit) and the trim threshold to 1 GiB keeps such
blocks on the heap, where they are reused without page faults. The process then holds on to its
peak heap use (a rendering worker: a few hundred MB) rather than returning it between batches.

The setting lives in the C library's state, so forked children (DataLoader workers) inherit it.
Elsewhere than glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size stay on the heap, bytes (glibc's 64-bit maximum: HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap's top beyond this is returned to the system, bytes.
TRIM_THRESHOLD = 1024 * 1024 * 1024


def retain_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (module docstring); True where it took effect."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "retain_freed_memory"]
