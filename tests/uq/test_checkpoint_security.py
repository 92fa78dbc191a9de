"""Every checkpoint path goes through torch's weights-only loader (issue 23)."""

import ast
import os
from pathlib import Path

import pytest
import torch

from bxrd.errors import BxrdInputError
from bxrd.inference.loading import load_classifier, load_predictor

ROOT = Path(__file__).resolve().parents[2]


def test_every_torch_load_in_the_code_is_weights_only():
    calls = []
    for path in [*ROOT.joinpath("bxrd").rglob("*.py"), *ROOT.joinpath("scripts").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and (
                    ast.unparse(node.func) == "torch.load"
                    or node.func.attr == "load_from_checkpoint"
                )
            ):
                kw = {k.arg: k.value for k in node.keywords}
                safe = "weights_only" in kw and ast.literal_eval(kw["weights_only"]) is True
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", safe))
    assert calls, "no checkpoint loading found: the test no longer sees the code"
    assert [c for c, safe in calls if not safe] == []


@pytest.fixture
def recorded_loads(monkeypatch):
    seen = []
    original = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    return seen


@pytest.mark.parametrize("name", ["default.ckpt", "laplace.ckpt"])
def test_shipped_checkpoints_load_weights_only(recorded_loads, name):
    path = ROOT / "checkpoints" / name
    if not path.is_file():
        pytest.skip(f"{name} not shipped")
    load_predictor(path)
    load_classifier(path)
    assert recorded_loads and all(w is True for w in recorded_loads)


def test_vi_checkpoint_loads_weights_only(recorded_loads, tmp_path):
    from .conftest import train

    model, trainer, _ = train("vi", epochs=1)
    path = tmp_path / "vi.ckpt"
    trainer.save_checkpoint(path)
    recorded_loads.clear()
    assert type(load_predictor(path)).__name__ == "VIClassifier"
    assert recorded_loads and all(w is True for w in recorded_loads)


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_checkpoint_with_a_code_payload_is_refused_without_running_it(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "bxrd": _Payload(target)}, path)
    with pytest.raises(BxrdInputError, match="evil.ckpt: not a readable checkpoint"):
        load_predictor(path)
    assert not target.exists()
