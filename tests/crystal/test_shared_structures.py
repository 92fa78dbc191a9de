import pytest

from bxrd.crystal.io import load_structures
from bxrd.crystal.template import Template
from bxrd.crystal.ter import TERConfig, run_ter
from bxrd.errors import BxrdInputError


@pytest.mark.slow
def test_every_shared_structure_is_a_template_or_a_clear_refusal(shared_structures):
    report = load_structures(
        [shared_structures / d for d in ("cod_one_per_spacegroup", "amcsd", "package_literature")]
    )
    assert len(report.structures) > 250
    templates, refusals = {}, []
    for sid, s in report.structures.items():
        try:
            templates[sid] = Template.from_structure(sid, s, "file", str(report.paths[sid]))
        except BxrdInputError as exc:
            refusals.append(str(exc))
    assert all(str(shared_structures) in msg for msg in refusals)  # each names its file
    formulas = {t.structure.composition.reduced_formula for t in templates.values()}
    assert {"CaTiO3", "NaNbO3", "BaTiO3", "LaMnO3", "MgSiO3"} <= formulas
    assert "FeTiO3" not in formulas  # ilmenite refused
    result = run_ter(templates, TERConfig(max_per_template=5))
    assert len(result.structures) >= 5 * len(templates) // 2
