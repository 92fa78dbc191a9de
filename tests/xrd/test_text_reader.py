"""Column text reader: the vectorised plain-table path reads the same numbers as the general one."""

from pathlib import Path

import numpy as np
import pytest

from bxrd.errors import PatternFileError
from bxrd.xrd.formats.limits import ReadLimits
from bxrd.xrd.formats.text import _line_by_line, _plain_table, parse_columns

PATH = Path("t.xy")


def _lines(sep: str) -> list[str]:
    rng = np.random.default_rng(1)
    x = np.round(np.arange(10.0, 40.0, 0.01), 4)
    y = rng.poisson(2000.0, len(x)) * 1.0000001
    return [f"{a:.4f}{sep}{float(b)!r}{sep}{np.sqrt(b):.3f}" for a, b in zip(x, y, strict=True)]


def _plain(text: str) -> tuple[np.ndarray, dict] | None:
    meta: dict[str, str] = {}
    table = _plain_table(PATH, text, ReadLimits(), meta)
    return None if table is None else (table, meta)


@pytest.mark.parametrize("sep", [" ", "\t", ", ", ";", "  ,  "])
def test_plain_table_and_line_by_line_give_the_same_doubles(sep):
    lines = _lines(sep)
    text = "##WAVELENGTH=1.5406\n# exported\ntwo_theta intensity esd\n" + "\n".join(lines)
    plain = _plain(text + "\n##END=\nignored trailer\n")
    assert plain is not None and plain[0].shape == (len(lines), 2)
    tokens = [ln.replace(",", " ").replace(";", " ").split() for ln in lines]
    expected = np.array([[float(t) for t in r[:2]] for r in tokens])
    assert np.array_equal(plain[0], expected)
    assert plain[1] == {"WAVELENGTH": "1.5406"}
    x, y, meta = _line_by_line(PATH, text, ReadLimits())
    assert np.array_equal(x, expected[:, 0]) and np.array_equal(y, expected[:, 1])
    assert meta == plain[1]


def test_exponents_take_the_plain_path_through_numpys_reader():
    text = "".join(f"{10 + 0.02 * i:.6e} {1000 + 7 * i:.4E}\n" for i in range(300))
    plain = _plain(text)
    assert plain is not None
    x, y, _ = _line_by_line(PATH, text, ReadLimits())
    assert np.array_equal(plain[0][:, 0], x) and np.array_equal(plain[0][:, 1], y)


def test_decimal_commas_take_the_plain_path_with_the_same_numbers():
    text = "\n".join(f"{10 + 0.02 * i:.2f}\t{1000 + i},5".replace(".", ",") for i in range(300))
    plain = _plain(text)
    assert plain is not None and plain[1] == {"DECIMAL_SEPARATOR": ","}
    assert plain[0][1, 0] == 10.02 and plain[0][1, 1] == 1001.5
    x, y, meta = _line_by_line(PATH, text, ReadLimits())
    assert np.array_equal(x, plain[0][:, 0]) and np.array_equal(y, plain[0][:, 1])


TRICKY = {
    "comment among data": "10 1\n11 2\n# gap\n12 3\n13 4\n",
    "numbers in a ; comment": "10 1\n  ; 10.5 7\n11 2\n12 3\n",
    "nan intensity": "10 1\n11 nan\n12 3\n",
    "stray text": "10 1\n11 2 peak\n12 3\n",
    "ragged rows": "10 1\n11 2 0.1\n12 3\n",
    "falling 2θ": "13 1\n12 2\n11 3\n",
    "duplicate 2θ": "10 1\n10 2\n11 3\n",
    "lone CR breaks": "10 1\r11 2\r12 3\r",
    "non-ASCII blank": "10\xa01\n11\xa02\n",
    "merged columns": "10.0000  88\n10.0496 100\n10.09922709\n10.1489  96\n",
    "ambiguous commas": "".join(f"10,{i:02d},{1000 + i}\n" for i in range(20)),
}


@pytest.mark.parametrize("name", list(TRICKY))
def test_tricky_files_leave_the_plain_path_and_keep_their_answer_or_message(name):
    text = TRICKY[name].replace("\r\n", "\n")
    plain = _plain(text)
    if name in ("nan intensity", "non-ASCII blank"):  # plain tables both paths read alike
        expected = _line_by_line(PATH, text, ReadLimits())
        assert plain is not None and np.array_equal(plain[0][:, 1], expected[1], equal_nan=True)
    else:
        assert plain is None
    try:
        expected = _line_by_line(PATH, text, ReadLimits())
    except PatternFileError as exc:
        with pytest.raises(PatternFileError, match="t.xy") as err:
            parse_columns(PATH, text, ReadLimits())
        assert str(err.value) == str(exc)
        return
    x, y, meta = parse_columns(PATH, text, ReadLimits())
    assert np.array_equal(x, expected[0]) and np.array_equal(y, expected[1], equal_nan=True)


def test_the_point_limit_holds_on_the_plain_path():
    text = "".join(f"{10 + i * 0.01:.2f} 5\n" for i in range(101))
    with pytest.raises(PatternFileError, match="more than 100 data points"):
        _plain_table(PATH, text, ReadLimits(max_points=100), {})
    assert _plain_table(PATH, text, ReadLimits(max_points=101), {}) is not None


def test_a_byte_order_mark_is_read_as_text_on_both_paths():
    body = "10.00 5\n10.02 7\n10.04 9\n"
    for text in ("\ufeff" + body, "\ufeff# header\n" + body, "\ufeff10.00 5\n; note\n10.02 7\n"):
        x, y, _ = parse_columns(PATH, text, ReadLimits())
        assert x[0] == 10.0 and y[0] == 5.0


def test_utf16_text_with_its_byte_order_mark_reads_as_utf8_does(tmp_path):
    from bxrd.xrd.pattern_io import read_pattern

    body = "".join(f"{10 + 0.02 * i:.2f} {100 + i % 7}\n" for i in range(500))
    (tmp_path / "a8.xy").write_bytes(body.encode("utf-8"))
    (tmp_path / "a16.xy").write_bytes(body.encode("utf-16"))  # BOM + UTF-16-LE
    a, b = (read_pattern(tmp_path / n, "CuKa") for n in ("a8.xy", "a16.xy"))
    assert len(a.two_theta) == 500 and np.array_equal(a.two_theta, b.two_theta)
    assert np.array_equal(a.intensity, b.intensity)
