"""Files read and gridded by a second process while the model runs on the previous ones.

Without explanations, reading a text pattern and putting it on the model's grid (Python and
numpy, one core) costs about as much CPU as the network's forward pass; done in turn, one of
two cores idles half the time. :func:`prepared` runs a batch function (read, grid,
search-match) in one forked reader process, a bounded number of files ahead, and yields the
results in input order; the caller lets torch use the other cores meanwhile
(:func:`torch_threads`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

import torch

T = TypeVar("T")
Batch = Callable[[list[Any]], list[T]]
#: files per task (amortises the inter-process round trip; the search-match of a task is
#: one matrix product, whose cost per pattern falls ~5× from 16 to 128 queries)
FILES_PER_TASK = 128
#: most bytes of files per task (a task's scans are held together until they are gridded:
#: 128 scans of 10⁶ points would take ~2 GB)
TASK_BYTES = 64_000_000

_reader_batch: Batch | None = None  # the batch function, in the reader process
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_fork() -> bool:
    """Tell whether a reader process can be forked (Linux; elsewhere files are read in turn)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def prepared(files: Sequence[Any], batch: Batch, ahead: int, reader: bool) -> Iterator[T]:
    """``batch`` applied to consecutive slices of ``files``; one result per file, in order.

    Args:
        files: the files, in the order results are wanted.
        batch: function of a list of files returning one result per file; it must not
            raise for a bad file (it returns the error as that file's result).
        ahead: files in flight with the reader (at least two tasks): at most about this
            many are prepared and not yet consumed, so memory stays bounded whatever the
            number of files.
        reader: use a forked reader process (see :func:`can_fork`); else run here. The
            process inherits ``batch`` by the fork (nothing of it is pickled: a search
            library in it is shared, not copied per task).
    """
    tasks = _tasks(files)
    if not reader:
        for task in tasks:
            yield from batch(task)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=_start, initargs=(batch, os.getpid())
    ) as pool:
        pending: deque[Future[list[T]]] = deque(
            pool.submit(_run, t) for t in islice(tasks, max(2, ahead // FILES_PER_TASK))
        )
        try:
            while pending:
                done = pending.popleft().result()
                task = next(tasks, None)
                if task is not None:
                    pending.append(pool.submit(_run, task))
                yield from done
        finally:  # Ctrl-C or an abandoned stream: do not read the queued files first
            pool.shutdown(wait=True, cancel_futures=True)


def _tasks(files: Sequence[Any]) -> Iterator[list[Any]]:
    """Split ``files`` into consecutive tasks of at most :data:`FILES_PER_TASK` files.

    A task also stops before :data:`TASK_BYTES` bytes of files (but holds at least one file;
    a file that cannot be sized counts 0).
    """
    task: list[Any] = []
    size = 0
    for f in files:
        try:
            n = os.path.getsize(f)
        except (OSError, TypeError):
            n = 0
        if task and (len(task) == FILES_PER_TASK or size + n > TASK_BYTES):
            yield task
            task, size = [], 0
        task.append(f)
        size += n
    if task:
        yield task


def _start(batch: Batch, parent: int) -> None:
    """Reader process set-up: remember ``batch``; one thread (the model has the other cores).

    The reader ends with its parent ``parent`` (pid), even one killed without a chance to
    stop it (Linux ``PR_SET_PDEATHSIG``): it would otherwise wait for tasks forever.
    """
    global _reader_batch
    _reader_batch = batch
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    torch.set_num_threads(1)
    with contextlib.suppress(ImportError):  # numpy's BLAS (search-match) too
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def _run(files: list[Any]) -> list[Any]:
    assert _reader_batch is not None
    return _reader_batch(files)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Let torch use ``n`` intra-op threads in the block (the setting is restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
