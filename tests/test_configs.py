"""Every training recipe under configs/ composes into a valid `bxrd fit` configuration."""

from pathlib import Path

import pytest
import yaml

from bxrd.cli import main

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted(
    p for p in (ROOT / "configs").glob("*.yaml") if "model" in yaml.safe_load(p.read_text())
)


def test_the_shipped_recipes_are_among_them():
    names = {p.name for p in RECIPES}
    assert {"shipped_realistic.yaml", "shipped_laplace.yaml", "quickstart.yaml"} <= names


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_composes_and_names_its_method(recipe, capsys):
    # --print_config parses and validates every part (class paths, init args) and exits 0
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(recipe), "--print_config"])
    assert stop.value.code in (0, None)
    config = yaml.safe_load(capsys.readouterr().out)
    method = config["model"]["class_path"].rsplit(".", 1)[-1]
    assert method == ("LaplaceClassifier" if "laplace" in recipe.stem else "MCDropoutClassifier")
    if recipe.stem.startswith("shipped"):  # one recipe, two posteriors
        assert config["model"]["init_args"]["lr_schedule"] == "cosine"
        assert config["data"]["dataset"] == "data/shipped/dataset.h5"
