"""The vectorised decimal reader gives float()'s doubles bit for bit, and refuses the rest."""

import io

import numpy as np
import pytest

from bxrd.xrd.formats.decimal_table import parse_decimal_table


def _random_fields(rng: np.random.Generator, n: int) -> list[str]:
    """Decimals of every accepted shape: 1–15 digits, 0–all of them after the point, signs,
    leading zeros, ``5.`` and ``.5``, long fractions that are not exact binary numbers."""
    out = []
    for _ in range(n):
        n_digits = int(rng.integers(1, 16))
        digits = "".join(str(d) for d in rng.integers(0, 10, n_digits))
        after = int(rng.integers(0, n_digits + 1))
        cut = n_digits - after
        body = digits if after == 0 else f"{digits[:cut]}.{digits[cut:]}"
        if after == 0 and rng.random() < 0.1:
            body += "."  # "5."
        out.append(str(rng.choice(["", "", "-", "+"])) + body)
    return out


def test_random_decimals_are_float_bit_for_bit_and_loadtxt_agrees():
    rng = np.random.default_rng(0)
    fields = _random_fields(rng, 3 * 4000)
    rows = np.array(fields).reshape(4000, 3)
    lines = [f"{a}{'  ' if i % 2 else ' '}{b}\t{c}" for i, (a, b, c) in enumerate(rows)]
    text = "\n".join(lines) + "\n"
    table = parse_decimal_table(text)
    assert table is not None and table.shape == (4000, 3)
    expected = np.array([float(f) for f in fields]).reshape(4000, 3)
    assert np.array_equal(table.view(np.int64), expected.view(np.int64))  # sign of -0.0 too
    loaded = np.loadtxt(io.StringIO(text), dtype=float, comments=None, ndmin=2)
    assert np.array_equal(table.view(np.int64), loaded.view(np.int64))
    assert (table != np.round(table)).any() and (table < 0).any()  # the draw covers both


def test_small_tables_signs_points_and_a_missing_last_newline():
    table = parse_decimal_table("  8.00 175\n8.02\t-0.0\n+.5 5.")
    assert table.tolist() == [[8.0, 175.0], [8.02, 0.0], [0.5, 5.0]]
    assert np.signbit(table[1, 1])  # "-0.0" is negative zero, as float() says


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1 2\n3\n",  # ragged
        "1 2\n\n3 4\n",  # a blank line inside
        "\n1 2\n",  # a blank line first
        "1 2e3\n",  # exponent
        "1 nan\n",
        "1 inf\n",
        "1 1234567890123456\n",  # 16 digits: M may not be exact
        "1 2-3\n",  # a sign inside a field
        "1 1.2.3\n",  # two points
        "1 -\n",
        "1 .\n",
        "1 +-2\n",
        "1,2\n",
        "1 2\r\n",
        "1 ２\n",  # not ASCII
    ],
)
def test_anything_but_plain_decimals_is_left_to_the_general_reader(text):
    assert parse_decimal_table(text) is None


def test_text_reader_samples_rows_past_blank_lines_and_reads_decimal_commas(tmp_path):
    """The decimal-comma decision looks at 200 data rows, however many blank lines come first."""
    from bxrd.xrd.formats.limits import ReadLimits
    from bxrd.xrd.formats.text import parse_columns

    rows = [f"{10 + 0.02 * i:.2f}".replace(".", ",") + f"\t{100 + i},5" for i in range(300)]
    text = "10,00\t1\n" + "\n" * 250 + "\n".join(rows[1:]) + "\n"
    x, y, meta = parse_columns(tmp_path / "a.xy", text, ReadLimits())
    assert meta.get("DECIMAL_SEPARATOR") == ","
    assert len(x) == 300 and x[1] == pytest.approx(10.02) and y[1] == pytest.approx(101.5)
