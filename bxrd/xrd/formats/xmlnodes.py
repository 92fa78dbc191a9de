"""Namespace-blind navigation of parsed XML (vendor files differ in their namespace versions)."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np

from bxrd.errors import PatternFileError

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def name(el: Element) -> str:
    """Return the local name of ``el`` (its tag without the namespace)."""
    return el.tag.rsplit("}", 1)[-1]


def child(el: Element | None, tag: str) -> Element | None:
    """Return the first child of ``el`` with local name ``tag``, or None."""
    if el is None:
        return None
    return next((c for c in el if name(c) == tag), None)


def first(el: Element | None, *tags: str) -> Element | None:
    """Return the first child named one of ``tags`` (in that order), or None."""
    return next((c for t in tags if (c := child(el, t)) is not None), None)


def children(el: Element | None, tag: str) -> list[Element]:
    """Return all children of ``el`` with local name ``tag``."""
    return [] if el is None else [c for c in el if name(c) == tag]


def descendants(el: Element, tag: str) -> list[Element]:
    """Return all elements under ``el`` (itself included) with local name ``tag``."""
    return [e for e in el.iter() if name(e) == tag]


def text(el: Element | None, tag: str) -> str | None:
    """Return the stripped text of child ``tag`` of ``el``, or None."""
    c = child(el, tag)
    return None if c is None or c.text is None else c.text.strip()


def numbers(path: Path, el: Element, what: str, sep: str | None = None) -> np.ndarray:
    """Return the numbers in ``el``'s text (blank- or ``sep``-separated) as floats."""
    try:
        return np.array([t for t in (el.text or "").split(sep) if t.strip()], dtype=float)
    except ValueError:
        raise PatternFileError(f"{path}: non-numeric value in <{what}>") from None
