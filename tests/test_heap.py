"""glibc keeps a freed 20 MB block on the heap after ``retain_freed_memory``, not before;
a user's own allocator settings are left alone."""

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bxrd.heap import USER_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
CHECK = """
import ctypes, os, sys
import numpy as np
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks "
                                               "fsmblks uordblks fordblks keepcost").split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "retain":
    from bxrd.heap import retain_freed_memory
    print(retain_freed_memory(), os.environ.get("MALLOC_TRIM_THRESHOLD_"))
block = np.ones(20 * 2**20 // 8)  # 20 MiB
del block
print(libc.mallinfo2().fordblks)  # free bytes kept in the heap
"""


def _glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except OSError:
        return False


def _run(mode: str, **extra: str) -> list[str]:
    """Run CHECK in a fresh interpreter without the user's allocator settings (plus ``extra``)."""
    env = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    env.pop("BXRD_GLIBC_DEFAULT", None)
    env.update(PYTHONPATH=str(ROOT), **extra)
    out = subprocess.run(
        [sys.executable, "-c", CHECK, mode], capture_output=True, text=True, check=True, env=env
    )
    return out.stdout.split()


@pytest.mark.skipif(not _glibc(), reason="glibc >= 2.33 only (mallinfo2)")
def test_freed_block_stays_on_the_heap_only_when_retained():
    done, trim, kept = _run("retain")
    assert done == "True" and int(trim) >= 20 * 2**20  # spawned children read it too
    assert int(kept) >= 20 * 2**20  # reused by the next block, no page faults
    assert int(_run("default")[0]) < 20 * 2**20  # unmapped on free: the next one faults anew


@pytest.mark.skipif(not _glibc(), reason="glibc >= 2.33 only (mallinfo2)")
@pytest.mark.parametrize(
    "setting", [{"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, {"BXRD_GLIBC_DEFAULT": "1"}]
)
def test_user_settings_are_left_alone(setting):
    done, trim, kept = _run("retain", **setting)
    assert done == "False" and trim == "None"
    assert int(kept) < 20 * 2**20
