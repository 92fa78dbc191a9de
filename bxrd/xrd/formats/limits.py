"""Limits on what one pattern file may cost to read, and the safe primitives that enforce them.

A pattern file is untrusted input (it comes from colleagues, instruments and downloads), so
every reader goes through these few functions:

* :func:`read_bytes` — the file is read whole only if it is at most ``max_file_bytes``;
* :func:`parse_xml` — XML through ``defusedxml``: a DTD that declares entities (the
  "billion laughs" expansion) or an external entity / DTD is refused, never expanded;
* :func:`zip_members` / :func:`read_member` — a zip archive (``.brml``, ``.rasx``, ``.npz``) is
  refused beyond ``max_zip_members`` members, and a member is read only up to
  ``max_member_bytes`` of *decompressed* data whatever its header claims, so a zip bomb costs at
  most that much memory;
* :func:`check_points` — at most ``max_points`` data points per scan.

Each limit gives one :class:`~bxrd.errors.PatternFileError` naming the file, the limit and the
:class:`ReadLimits` field that raises it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bxrd.errors import PatternFileError

_MIB = 2**20


@dataclass(frozen=True)
class ReadLimits:
    """Upper bounds for reading one pattern file; raise them for unusual but trusted files.

    Attributes:
        max_file_bytes: size of the file on disk, bytes (default 256 MiB).
        max_points: data points in one scan (default 2,000,000; a 0.001° scan of 5–150° has
            145,000).
        max_zip_members: members of a zip-based file (``.brml``, ``.rasx``, ``.npz``).
        max_member_bytes: decompressed size of one zip member that is read, bytes (256 MiB).
    """

    max_file_bytes: int = 256 * _MIB
    max_points: int = 2_000_000
    max_zip_members: int = 4096
    max_member_bytes: int = 256 * _MIB


def _mib(n: int) -> str:
    return f"{n / _MIB:.3g} MiB"


def read_bytes(path: Path, limits: ReadLimits) -> bytes:
    """Read the file's bytes after checking its size against ``limits.max_file_bytes``."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise PatternFileError(
            f"{path}: file is {_mib(size)}, over the limit of {_mib(limits.max_file_bytes)} "
            "(ReadLimits.max_file_bytes; raise it if you trust this file)"
        )
    with open(path, "rb") as fh:
        return fh.read(size)  # read(n) allocates n bytes up front: n is the checked size


def check_points(path: Path, n: int, limits: ReadLimits, counting: bool = False) -> None:
    """Refuse a scan of more than ``limits.max_points`` points.

    ``counting``: ``n`` is a running count while reading (the message says "more than").
    """
    if n > limits.max_points:
        count = f"more than {limits.max_points:,}" if counting else f"{n:,}"
        raise PatternFileError(
            f"{path}: {count} data points, over the limit of {limits.max_points:,} "
            "(ReadLimits.max_points; raise it if you trust this file)"
        )


def parse_xml(path: Path, data: bytes, what: str = "XML") -> Element:
    """Root element of ``data``, parsed with entity expansion and external entities off."""
    try:
        return fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise PatternFileError(
            f"{path}: {what} declares entities or external references ({type(exc).__name__}); "
            "refused, a pattern file never needs them"
        ) from None
    except ParseError as exc:
        raise PatternFileError(f"{path}: {what} is not well-formed ({exc})") from None


def zip_members(path: Path, data: bytes, limits: ReadLimits) -> zipfile.ZipFile:
    """Open ``data`` as a zip archive, refusing too many members or claimed-oversized ones."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise PatternFileError(f"{path}: not a readable zip archive ({exc})") from None
    infos = archive.infolist()
    if len(infos) > limits.max_zip_members:
        raise PatternFileError(
            f"{path}: zip archive has {len(infos):,} members, over the limit of "
            f"{limits.max_zip_members:,} (ReadLimits.max_zip_members)"
        )
    return archive


def read_member(path: Path, archive: zipfile.ZipFile, name: str, limits: ReadLimits) -> bytes:
    """Decompressed bytes of member ``name``, never more than ``limits.max_member_bytes``.

    The size stored in the archive is checked first; the read itself is bounded too, because
    that size can lie.
    """
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise PatternFileError(f"{path}: zip archive has no member {name!r}") from None
    cap = limits.max_member_bytes
    over = (
        f"{path}: zip member {name!r} decompresses to more than {_mib(cap)} "
        "(ReadLimits.max_member_bytes; a zip bomb, or raise the limit if you trust this file)"
    )
    if info.file_size > cap:
        raise PatternFileError(over)
    try:
        with archive.open(info) as fh:
            out = fh.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise PatternFileError(f"{path}: zip member {name!r} is corrupt ({exc})") from None
    if len(out) > cap:
        raise PatternFileError(over)
    return out
