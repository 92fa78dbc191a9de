"""March–Dollase preferred orientation, per reflection and averaged over a family."""

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice

from bxrd.xrd.orientation import family_march_dollase, lattice_rotations, march_dollase


@pytest.mark.parametrize(
    ("r", "alpha_deg", "expected"),
    [(0.5, 0.0, 8.0), (0.5, 90.0, 2.0**-1.5), (1.0, 37.0, 1.0), (2.0, 0.0, 0.125)],
)
def test_march_dollase_value(r, alpha_deg, expected):
    cos_a = torch.tensor(np.cos(np.radians(alpha_deg)))
    assert float(march_dollase(cos_a, torch.tensor(r))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("r", [0.3, 0.6, 1.7])
def test_march_dollase_averages_to_one_over_all_directions(r):
    cos_a = torch.linspace(0, 1, 200001, dtype=torch.float64)  # uniform on the sphere
    assert float(march_dollase(cos_a, torch.tensor(r, dtype=torch.float64)).mean()) == (
        pytest.approx(1.0, rel=1e-3)
    )


def test_point_group_sizes():
    assert len(lattice_rotations(Lattice.cubic(4).matrix)) == 24
    assert len(lattice_rotations(Lattice.tetragonal(4, 6).matrix)) == 8
    assert len(lattice_rotations(Lattice.orthorhombic(4, 5, 6).matrix)) == 4
    assert len(lattice_rotations(Lattice.hexagonal(5, 13).matrix)) == 12
    rot = lattice_rotations(Lattice.hexagonal(5, 13).matrix)
    assert np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-8)


def test_family_factor_is_the_mean_over_equivalent_reflections():
    r = 0.5
    rot = torch.from_numpy(lattice_rotations(Lattice.cubic(4).matrix)).float()[None]
    weight = torch.full((1, 24), 1 / 24)
    normals = torch.tensor([[[1.0, 0, 0], [1, 1, 0]]]) / torch.tensor([[[1.0], [2**0.5]]])
    direction = torch.tensor([[0.0, 0, 1]])
    got = family_march_dollase(normals, rot, weight, direction, torch.tensor([r]))[0]
    p = lambda deg: float(march_dollase(torch.tensor(np.cos(np.radians(deg))), torch.tensor(r)))  # noqa: E731
    # {100} along [001]: one of three axes parallel, two perpendicular
    assert float(got[0]) == pytest.approx((p(0) + 2 * p(90)) / 3, rel=1e-5)
    # {110}: 2 of the 6 pairs perpendicular to [001] ((110), (1-10)), 4 at 45°
    assert float(got[1]) == pytest.approx((2 * p(90) + 4 * p(45)) / 6, rel=1e-5)
    # a (100)-oriented film: (h00) grows, (110) fades
    assert got[0] > 1 > got[1]
