"""numpy ``.npy`` and ``.npz`` patterns, read without running code.

``np.load(allow_pickle=True)`` on an untrusted file runs whatever its pickle says (a pickled
``os.system`` call runs on load). Here:

* plain numeric arrays are read with pickling off: shape (N,) or (1, N) intensities on
  2θ = ``npy_start`` + ``npy_step`` × i; shape (N, 2) or (2, N) as 2θ and intensity columns;
* object arrays (the RRUFF-style dict ``{"features": 1 × N intensities, "labels230": ...}``)
  are refused unless the caller passes ``allow_pickle=True`` — and even then they are
  unpickled by a restricted unpickler that builds only numpy arrays, dtypes, scalars and
  plain Python containers, so a file that refers to any other callable is refused, not run;
* ``.npz`` archives (the safe form, see ``scripts/convert_npy.py``) are read with pickling off
  and zip limits: ``two_theta`` and ``intensity`` arrays, or RRUFF's ``features``; other
  arrays become header fields.

RRUFF conventions (the shared ``rruff_minerals`` set): 2θ 5° + 0.01° × i, Cu Kα.
"""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, make_pattern
from bxrd.xrd.formats.limits import ReadLimits, check_points, read_member, zip_members
from bxrd.xrd.wavelength import resolve_wavelength

#: The only globals a pickled pattern may name: numpy's array/scalar reconstructors.
_SAFE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that builds numpy arrays and plain containers and nothing else."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _SAFE_GLOBALS and not (
            module == "numpy.dtypes" and name.endswith("DType")
        ):
            raise pickle.UnpicklingError(f"refers to {module}.{name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def pickle_message(path: Path) -> str:
    """Explain why a pickled ``.npy`` read without permission is refused."""
    return (
        f"{path}: .npy holds a pickled Python object, which can run code when loaded; "
        "refused. If you trust it, pass allow_pickle=True (bxrd predict --allow-pickle), "
        "or convert it once to a safe .npz: python scripts/convert_npy.py FILE_OR_FOLDER"
    )


def load_npy(path: Path, data: bytes, limits: ReadLimits, allow_pickle: bool) -> object:
    """Load the array (or restricted-unpickled object) of a ``.npy`` file's bytes."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    except (ValueError, OSError, EOFError) as exc:
        raise PatternFileError(f"{path}: not a readable .npy file ({exc})") from None
    check_points(path, int(np.prod(shape, dtype=np.int64)), limits)
    if dtype.hasobject:
        if not allow_pickle:
            raise PatternFileError(pickle_message(path))
        try:
            return _ArrayUnpickler(fp).load()
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a refusal
            raise PatternFileError(
                f"{path}: pickled .npy refused ({exc}); only numpy arrays, numbers and plain "
                "containers are read"
            ) from None
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise PatternFileError(f"{path}: not a readable .npy file ({exc})") from None


def read_npy(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read a ``.npy`` pattern (see module docstring)."""
    obj = load_npy(path, data, limits, options.allow_pickle)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if isinstance(obj, dict):
        return [_from_arrays(path, obj, options)]
    return [_from_arrays(path, {"features": obj}, options)]


def read_npz(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read a ``.npz`` pattern: every member an array read with pickling off."""
    archive = zip_members(path, data, limits)
    arrays = {}
    for name in archive.namelist():
        if name.endswith(".npy"):
            member = read_member(path, archive, name, limits)
            arrays[name[:-4]] = load_npy(path, member, limits, allow_pickle=False)
    return [_from_arrays(path, arrays, options)]


def _from_arrays(path: Path, arrays: dict, options: ReadOptions) -> MeasuredPattern:
    """Build a pattern from ``two_theta``/``intensity`` or ``features``; others → meta."""
    try:
        wl = resolve_wavelength(options.npy_wavelength)
    except BxrdInputError as exc:
        raise PatternFileError(f"{path}: {exc}") from None
    if "two_theta" in arrays and "intensity" in arrays:
        x = np.asarray(arrays["two_theta"], dtype=float).ravel()
        y = np.asarray(arrays["intensity"], dtype=float).ravel()
        keys = {"two_theta", "intensity", "wavelength"}
        if "wavelength" in arrays:
            wl = float(np.asarray(arrays["wavelength"]).ravel()[0])
    elif "features" in arrays:
        x, y = _columns(path, arrays["features"], options)
        keys = {"features"}
    else:
        raise PatternFileError(
            f"{path}: no 'features' or 'two_theta' + 'intensity' arrays "
            f"(found {', '.join(map(str, arrays)) or 'none'})"
        )
    meta = {k: np.asarray(v).tolist() for k, v in arrays.items() if k not in keys}
    pattern = make_pattern(path, x, y, meta, wavelength=wl)
    pattern.wavelength_source = "default" if "wavelength" not in arrays else "file"
    return pattern


def _columns(path: Path, obj: object, options: ReadOptions) -> tuple[np.ndarray, np.ndarray]:
    try:
        arr = np.asarray(obj, dtype=float)
    except (TypeError, ValueError):
        raise PatternFileError(f"{path}: .npy content is not numeric") from None
    if arr.ndim == 2 and 2 in arr.shape and 1 not in arr.shape:
        arr = arr if arr.shape[1] == 2 else arr.T
        return arr[:, 0], arr[:, 1]
    if arr.ndim == 1 or (arr.ndim == 2 and 1 in arr.shape):
        y = arr.ravel()
        return options.npy_start + options.npy_step * np.arange(len(y)), y
    raise PatternFileError(f"{path}: .npy array of shape {arr.shape} is not a pattern")


def convert_to_npz(source: Path, target: Path, limits: ReadLimits | None = None) -> Path:
    """Write the arrays of a pickled ``.npy`` dict (or plain array) to a pickle-free ``.npz``.

    The source is read with the restricted unpickler (numpy arrays and containers only), so
    converting an untrusted file runs no code either. A dict's entries become the archive's
    arrays (``features``, ``labels230``, ...); a plain array becomes ``features``. The write is
    atomic.

    Raises:
        PatternFileError: the source is not a numpy pattern, or holds non-array objects.
    """
    from bxrd.fileio import atomic_path
    from bxrd.xrd.formats.limits import read_bytes

    limits = limits or ReadLimits()
    obj = load_npy(source, read_bytes(source, limits), limits, allow_pickle=True)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    arrays = obj if isinstance(obj, dict) else {"features": obj}
    try:
        arrays = {str(k): np.asarray(v) for k, v in arrays.items()}
    except (TypeError, ValueError):
        raise PatternFileError(f"{source}: entries are not arrays") from None
    if any(a.dtype.hasobject for a in arrays.values()):
        raise PatternFileError(f"{source}: holds nested Python objects, not plain arrays")
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return target
