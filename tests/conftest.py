from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_structures() -> Path:
    path = SHARED / "structures"
    if not path.is_dir():
        pytest.skip(f"shared data not present at {path}")
    return path


@pytest.fixture
def srtio3() -> Structure:
    """Cubic SrTiO3, a = 3.905 Å, 5 atoms."""
    return Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(3.905), ["Sr", "Ti", "O"], [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0]]
    )
