"""Column text reader: the plain-table fast path and the general path read the same numbers."""

from pathlib import Path

import numpy as np

from bxrd.xrd.formats.limits import ReadLimits
from bxrd.xrd.formats.text import _uniform_table, parse_columns


def _lines(sep: str) -> list[str]:
    rng = np.random.default_rng(1)
    x = np.round(np.arange(10.0, 40.0, 0.01), 4)
    y = rng.poisson(2000.0, len(x)) * 1.0000001
    return [f"{a:.4f}{sep}{float(b)!r}{sep}{np.sqrt(b):.3f}" for a, b in zip(x, y, strict=True)]


def test_plain_table_and_line_by_line_give_the_same_doubles():
    for sep in (" ", "\t", ", ", ";"):
        lines = _lines(sep)
        table = _uniform_table(lines)
        assert table is not None and table.shape == (len(lines), 2)
        tokens = [ln.replace(",", " ").replace(";", " ").split() for ln in lines]
        expected = np.array([[float(t) for t in r[:2]] for r in tokens])
        assert np.array_equal(table, expected)


def test_merged_columns_and_stray_text_take_the_general_path():
    lines = [f"{10 + 0.02 * i:.5f}  {1000 + i}" for i in range(200)]
    merged = list(lines)
    merged[50] = merged[50].replace("  ", "")  # fixed-width columns that touch
    assert _uniform_table(merged) is None
    x, y, _ = parse_columns(Path("merged.xy"), "\n".join(merged), ReadLimits())
    assert x[50] == 11.0 and y[50] == 1050.0  # repaired by the general path
    assert _uniform_table([*lines[:10], "12.0 5 peak", *lines[10:]]) is None
    assert _uniform_table(list(reversed(lines))) is None  # falling 2θ: the general checks
