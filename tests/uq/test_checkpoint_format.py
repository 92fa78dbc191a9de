import pytest
import torch

from bxrd.errors import BxrdInputError
from bxrd.uq.checkpoint_format import axis_from_hparams, make_stamp, save_checkpoint
from bxrd.uq.mc_dropout import MCDropoutClassifier
from bxrd.xrd.axis import Axis
from bxrd.xrd.grid import TwoThetaGrid

from .conftest import SMALL


def test_models_carry_one_axis_and_old_hparams_read_the_same():
    grid = TwoThetaGrid(10.0, 20.0, 0.1)
    axis = Axis(grid, 0.7093)
    model = MCDropoutClassifier(3, grid.n_points, backbone=SMALL, axis=axis.to_dict())
    assert model.hparams["axis"] == axis.to_dict() and "wavelength" not in model.hparams
    assert model.axis == axis and model.grid == grid
    # checkpoints written before the axis object kept grid and wavelength apart
    old = MCDropoutClassifier(3, grid.n_points, backbone=SMALL, grid=grid, wavelength=0.7093)
    assert old.axis == axis and axis_from_hparams({"grid": grid, "wavelength": 0.7093}) == axis
    with pytest.raises(ValueError, match="points"):
        MCDropoutClassifier(3, 7, backbone=SMALL, axis=axis)


def test_checkpoints_are_written_atomically_and_only_when_stamped(tmp_path):
    model = MCDropoutClassifier(3, 101, backbone=SMALL)
    path = tmp_path / "m.ckpt"
    save_checkpoint({"bxrd": make_stamp(model), "state_dict": {}}, path)
    assert torch.load(path, weights_only=True)["bxrd"]["class"].endswith("MCDropoutClassifier")
    with pytest.raises(BxrdInputError):
        save_checkpoint({"state_dict": {}}, tmp_path / "x.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ckpt"]  # no temporary left
