"""Search-match: nearest library patterns by cosine, chunked."""

import numpy as np
import pytest

from bxrd.data.search_match import SearchLibrary


@pytest.fixture
def library():
    rng = np.random.default_rng(1)
    x = rng.random((50, 40)).astype(np.float32)
    return SearchLibrary(
        x,
        [f"s{i}" for i in range(50)],
        [f"F{i}" for i in range(50)],
        ["Pnma (62)" if i % 2 else "Pm-3m (221)" for i in range(50)],
        {"space_group": np.arange(50) % 2},
        chunk=7,
    )


def test_a_library_pattern_finds_itself_first_with_similarity_one(library):
    query = 3.0 * library.patterns[[4, 11]]  # scale does not matter to cosine
    idx, sim = library.search(query, k=3)
    assert idx[:, 0].tolist() == [4, 11] and np.allclose(sim[:, 0], 1.0, atol=1e-6)
    assert np.all(np.diff(sim, axis=1) <= 0)
    m = library.matches(query[0], k=2)
    assert (m[0].structure_id, m[0].formula, m[0].space_group) == ("s4", "F4", "Pm-3m (221)")
    pred, _ = library.predict(query, "space_group")
    assert pred.tolist() == [0, 1]


def test_chunked_search_equals_brute_force(library):
    rng = np.random.default_rng(2)
    q = rng.random((9, 40))
    idx, sim = library.search(q, k=5)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    full = qn @ library.patterns.T
    assert np.array_equal(idx, np.argsort(-full, axis=1, kind="stable")[:, :5])
    assert np.allclose(sim, np.sort(full, axis=1)[:, ::-1][:, :5], atol=1e-5)


def test_wrong_grid_is_refused(library):
    with pytest.raises(ValueError, match="queries have 39 points, the library 40"):
        library.search(np.ones((1, 39)))


def test_saved_library_answers_like_the_original(library, tmp_path):
    from bxrd.data.search_match import SearchLibrary
    from bxrd.errors import BxrdInputError

    back = SearchLibrary.load(library.save(tmp_path / "library.npz"))
    q = np.random.default_rng(3).random((4, 40))
    assert np.array_equal(back.search(q, 3)[0], library.search(q, 3)[0])
    assert back.formula == library.formula and back.labels["space_group"].tolist() == (
        library.labels["space_group"].tolist()
    )
    with pytest.raises(BxrdInputError, match="nope.npz: not a search-match library"):
        SearchLibrary.load(tmp_path / "nope.npz")
