"""Files read and gridded by a second process while the model runs on the previous ones.

Without explanations, reading a text pattern and putting it on the model's grid (Python and
numpy, one core) costs about as much CPU as the network's forward pass; done in turn, one of
two cores idles half the time. :func:`prepared` runs ``prepare`` in one forked reader
process, a bounded number of files ahead, and yields the results in input order; the caller
lets torch use the other cores meanwhile (:func:`torch_threads`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import TypeVar

import torch

from bxrd.errors import PatternFileError

T = TypeVar("T")
#: files per task sent to the reader (amortises the inter-process round trip)
FILES_PER_TASK = 16


def can_fork() -> bool:
    """Tell whether a reader process can be forked (Linux; elsewhere files are read in turn)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def prepared(
    files: Sequence[str | Path],
    prepare: Callable[[str | Path], T],
    ahead: int,
    reader: bool,
) -> Iterator[T | PatternFileError]:
    """``prepare(file)`` for every file, in order; by a reader process if ``reader``.

    With the reader, at most about ``ahead`` files are prepared and not yet consumed, so
    memory stays bounded whatever the number of files. A file that ``prepare`` refuses
    yields its :class:`~bxrd.errors.PatternFileError` instead of raising it.

    Args:
        files: the files, in the order results are wanted.
        prepare: a picklable function of one file (e.g. a :func:`functools.partial`).
        ahead: files in flight with the reader.
        reader: use a forked reader process (see :func:`can_fork`); else prepare here.
    """
    tasks = (list(files[i : i + FILES_PER_TASK]) for i in range(0, len(files), FILES_PER_TASK))
    if not reader:
        for task in tasks:
            yield from _prepare_all(prepare, task)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=torch.set_num_threads, initargs=(1,)
    ) as pool:
        pending: deque[Future[list[T | PatternFileError]]] = deque(
            pool.submit(_prepare_all, prepare, t)
            for t in islice(tasks, max(1, ahead // FILES_PER_TASK))
        )
        while pending:
            done = pending.popleft().result()
            task = next(tasks, None)
            if task is not None:
                pending.append(pool.submit(_prepare_all, prepare, task))
            yield from done


def _prepare_all(
    prepare: Callable[[str | Path], T], files: list[str | Path]
) -> list[T | PatternFileError]:
    out: list[T | PatternFileError] = []
    for f in files:
        try:
            out.append(prepare(f))
        except PatternFileError as exc:
            out.append(exc)
    return out


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Let torch use ``n`` intra-op threads in the block (the setting is restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
