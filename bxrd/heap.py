"""Keep freed tensor memory in the process for reuse (glibc), instead of handing it back.

Rendering a batch of 1,024 patterns makes dozens of temporaries of 14–18 MB (one float32
pattern block, the band canvas). glibc serves blocks above its mmap threshold with fresh
``mmap`` pages and unmaps them on ``free``; its dynamic threshold rises only to the largest
block freed so far, and the heap's top is trimmed (handed back) beyond twice that, so such
temporaries keep being returned and page-faulted in anew: measured here, about 30 % of the CPU
time of realistic rendering (``scripts/bench_simulation.py --glibc-default``). Raising the mmap
threshold to 32 MiB (glibc's maximum on 64-bit) and the trim threshold to 256 MiB keeps them on
the heap, reused without page faults. A process then holds on to up to 256 MiB of freed heap
rather than returning it between batches.

:func:`retain_freed_memory` sets glibc's state (forked children, DataLoader workers, inherit it)
and the environment variables ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` (children
started anew, e.g. loky workers of ``bxrd data build``, read them). It leaves a process alone
where the user set glibc's malloc options (those variables, ``GLIBC_TUNABLES``), where another
allocator is preloaded (``LD_PRELOAD``), where ``BXRD_GLIBC_DEFAULT`` is set, and off Linux.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size stay on the heap, bytes (glibc's 64-bit maximum: HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap's top beyond this is returned to the system, bytes.
TRIM_THRESHOLD = 256 * 1024 * 1024
#: Variables that say the user chose the allocator or its options: then nothing is changed.
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES", "LD_PRELOAD")


def retain_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (module docstring); True where it took effect."""
    if not sys.platform.startswith("linux") or "BXRD_GLIBC_DEFAULT" in os.environ:
        return False
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library symbols to reach
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )  # musl's mallopt is a stub that returns 0
    if done:
        os.environ["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
        os.environ["MALLOC_TRIM_THRESHOLD_"] = str(TRIM_THRESHOLD)
    return done


__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "USER_SETTINGS", "retain_freed_memory"]
