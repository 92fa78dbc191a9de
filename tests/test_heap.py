"""glibc keeps a freed 20 MB block on the heap after ``retain_freed_memory``, not before."""

import ctypes
import subprocess
import sys

import pytest

CHECK = """
import ctypes, sys
import numpy as np
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks "
                                               "fsmblks uordblks fordblks keepcost").split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "retain":
    from bxrd.heap import retain_freed_memory
    assert retain_freed_memory()
block = np.ones(20 * 2**20 // 8)  # 20 MiB
del block
print(libc.mallinfo2().fordblks)  # free bytes kept in the heap
"""


def _glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc >= 2.33 only (mallinfo2)")
def test_freed_block_stays_on_the_heap_only_when_retained():
    def free_bytes(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", CHECK, mode], capture_output=True, text=True, check=True
        )
        return int(out.stdout)

    assert free_bytes("retain") >= 20 * 2**20  # reused by the next block, no page faults
    assert free_bytes("default") < 20 * 2**20  # unmapped on free: the next one faults anew
