"""The answer for one pattern file: what ``bxrd predict`` prints, writes as JSON, renders.

JSON (one object per file, keys = the fields below, arrays left out):

* ``decision``: ``"predict"`` (``label`` is the answer), ``"abstain"`` (top probability
  below ``threshold``, ``one_family`` found, or a named class ``perovskite_match`` withheld;
  ``label`` is null, ``top_label`` still says what led) or ``"skipped"``
  (the file could not be used; ``error`` says why, every other field is null or empty).
* ``wavelength`` (Å) and ``wavelength_source``: ``"file"`` (recorded in the file),
  ``"default"`` (the documented convention of its format: RRUFF ``.npy`` is Cu Kα),
  ``"option"`` (``--wavelength``, the file records none) or ``"forced"`` (``--wavelength`` and
  ``--force_wavelength`` against the file's own).
* ``neighbours``: the closest known structures by search-match (cosine similarity of the
  model's input to clean simulations of the library; ``bxrd predict --library``), each with
  a ``note`` ("" or, for a DFT cell with a molecular A cation, that its group is one frozen
  molecule orientation's, not the disordered average a film shows).
* ``secondary_phases``: candidate secondary phases and substrates whose strong reflections
  match peaks the main phase leaves (:mod:`bxrd.inference.secondary_phases`); ``[]``: checked,
  none found; null: not checked (``--explain none``, or a class with no reference reflections).
  For a mixture class (``other``) there is no main phase: every peak is a candidate, and the
  phases found are reported as known phases, not secondary ones.
  ``unexplained_peaks``: the peaks left after both, each with the library lines it is
  ``consistent_with`` (one peak is never a phase).
* ``one_family``: the pattern's peaks are all orders of one spacing (a strongly oriented
  film, :mod:`bxrd.explain.one_family`): ``d_spacing`` (Å), ``orders``, ``two_theta`` of
  its peaks (degrees on the model's axis, Cu Kα) and their ``share`` of the peak height;
  the space group is not determined by such a pattern, so the answer abstains. Null
  otherwise.
* ``perovskite_match``: ``similarity``, the cosine similarity of the model's input to the
  closest clean pattern of the perovskites the model learned from (``bxrd predict
  --perovskites``), ``floor`` (``--min_perovskite_similarity``) and ``withheld``: true when
  the leading class claims a perovskite (a named class, or ``yes`` of the yes/no task) and
  the similarity is below the floor, so no perovskite the model knows looks like the pattern
  (it may hold none: a precursor mixture, another compound), the answer abstains and its
  ``prediction_set`` also holds ``other`` where the model has that class (a wider set keeps
  its coverage). ``other`` and ``no`` are never withheld. Null without that library.
* ``pseudo_cubic``: the peaks indexed on a pseudo-cubic cell, independent of the network
  (:mod:`bxrd.explain.pseudo_cubic`), on the model's axis (degrees 2θ at Cu Kα, as
  ``one_family``): edge ``a`` (Å), ``zero`` offset (degrees), ``share`` of the peak height on
  the primitive cell, ``lines`` (``two_theta``, ``hkl``, ``point``: ``""`` primitive; ``R`` /
  ``M`` / ``X`` lines of the doubled cell, from out-of-phase tilts / in-phase tilts /
  A-cation shifts; ``B``, its 111, rock-salt B-site order), ``points`` seen, ``unindexed``
  peaks, ``r_chance`` (chance that the peaks off the primitive lines hit an R line). Null
  when the peaks do not index on such a cell, or when not checked (``--explain none``).
  ``tilt_note``: what those lines say about the leading class (e.g. R lines beside Pm-3m;
  an untilted perovskite cell beside ``other``), else null.
* ``prediction_set``: the conformal prediction set (:mod:`bxrd.uq.conformal`): ``classes``
  (most probable first) that together hold the true class with probability ``coverage``
  (the model's 0.9, or ``bxrd predict --coverage``) for patterns like the model's held-out
  validation patterns; one class when the pattern decides, several when it does not.
  ``by_class``: true for class-conditional sets (``--sets_by_class``), whose coverage holds
  for each true class, not only over the validation class mix; ``always_in``: the number of
  classes in every such set (fewer than 9 held-out patterns of theirs at 0.9); ``widened``:
  null for the conformal set itself, else why it holds more: ``"one reflection family"``
  (every class: the pattern fixes one spacing, which excludes none) or ``"unlike every
  training perovskite"`` (``other`` added: ``perovskite_match`` withheld the class), with
  the conformal set itself in ``conformal_classes`` (null when not widened).
  Measured patterns are not exchangeable with those, so on them it is a measured, not a
  promised, coverage. Null when the checkpoint has no fitted sets.
* ``seed``: the seed of the MC samples, the same for every pattern (``--seed``), so the same
  pattern gets the same answer alone or among others, and nearly the same data nearly the
  same probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

from bxrd.data.class_names import CLAIM_NO_PEROVSKITE, NO_STRUCTURE, OTHER
from bxrd.explain.pseudo_cubic import describe

Decision = Literal["predict", "abstain", "skipped"]
WavelengthSource = Literal["file", "option", "forced", "default"]


def perovskite_match(similarity: float | None, floor: float, top_label: str) -> dict | None:
    """Return the ``perovskite_match`` record (module docstring); None without a similarity."""
    if similarity is None:
        return None
    withheld = similarity < floor and top_label not in CLAIM_NO_PEROVSKITE
    return {"similarity": similarity, "floor": floor, "withheld": withheld}


def below_floor(match: dict | None) -> bool:
    """Return whether a ``perovskite_match`` record is below its floor.

    Below it, the pattern is unlike every training perovskite, whether or not its class was
    withheld (``other`` is not); False without a record.
    """
    return match is not None and match["similarity"] < match["floor"]


def abstain_reason(
    one_family: dict | None, top_k: list | None, threshold: float, match: dict | None = None
) -> str:
    """Say why an answer abstains: one family, unlike every perovskite, low probability.

    ``one_family``: the pattern's single reflection family; ``match``: its
    ``perovskite_match`` (a named class withheld: no training perovskite like the pattern);
    ``top_k``: the answer's (class, probability, std) rows, most probable first, against
    ``threshold``.
    """
    unlike = bool(match and match["withheld"])
    low = not (one_family or unlike) or (bool(top_k) and top_k[0][1] < threshold)
    return "; ".join(
        (["one reflection family"] if one_family else [])
        + ([f"no training perovskite like it (cosine {match['similarity']:.2f})"] if unlike else [])
        + ([f"top probability below {threshold:.2f}"] if low else [])
    )


def format_distance(distance: float) -> str:
    """Return a feature distance as printed: whole from 100, three digits below.

    One model's distances are squared Mahalanobis distances (thresholds ~500-1,300); an
    ensemble's are relative to its threshold (far above 1).
    """
    return f"{distance:.0f}" if abs(distance) >= 100 else f"{distance:.3g}"


#: Why a set holds more than its conformal classes (``prediction_set["widened"]``): every
#: class (a single reflection family excludes none), or ``other`` added (a named class
#: withheld by ``perovskite_match``).
WIDENED_ONE_FAMILY = "one reflection family"
WIDENED_UNLIKE = "unlike every training perovskite"


def prediction_set(
    names: list[str],
    probs: list[float],
    members: list[bool],
    coverage: float,
    by_class: bool = False,
    always_in: int = 0,
    one_family: bool = False,
    withheld: bool = False,
) -> dict:
    """One answer's prediction set: its ``classes`` (most probable first) and ``coverage``.

    ``members``: the conformal set, per class (index order of ``names``, as ``probs``);
    ``by_class``: whether its coverage holds per true class or over the class mix;
    ``always_in``: classes in every per-class set (too few held-out patterns of theirs).
    The set is widened where the pattern cannot decide: to every class for ``one_family``
    (one spacing excludes none), else by ``other`` where ``withheld`` (``perovskite_match``;
    a wider set keeps its coverage). ``widened`` says why (:data:`WIDENED_ONE_FAMILY`,
    :data:`WIDENED_UNLIKE`) and ``conformal_classes`` keeps the conformal set, both None
    where the set did not grow.
    """
    wider, why = list(members), None
    if one_family:
        wider, why = [True] * len(names), WIDENED_ONE_FAMILY
    elif withheld and OTHER in names:
        wider[names.index(OTHER)], why = True, WIDENED_UNLIKE
    grew = wider != list(members)

    def ranked(member: list[bool]) -> list[str]:
        return [names[j] for j in sorted((j for j, m in enumerate(member) if m),
                                         key=lambda j: -probs[j])]  # fmt: skip

    return {
        "coverage": coverage,
        "by_class": by_class,
        "always_in": always_in,
        "classes": ranked(wider),
        "widened": why if grew else None,
        "conformal_classes": ranked(members) if grew else None,
    }


#: Marks of the notes of listed structures (a note's text is given once, after the list).
NOTE_MARKS = "†‡§¶"


def describe_neighbours(
    neighbours: list[dict], digits: int = 2, esc: Callable[[str], str] = str
) -> str:
    """One line for search-match ``neighbours``, each a note's mark and its text given once.

    e.g. ``H6PbCI3N Pm (6)† 0.95, CsSnI3 Pm-3m (221) 0.92; † group of one frozen molecule
    orientation``. ``neighbours``: dicts with ``formula``, ``space_group``, ``similarity``
    (cosine) and optional ``note``; ``digits`` of the similarity; ``esc`` escapes the names
    and notes (HTML).
    """
    notes = list(dict.fromkeys(n["note"] for n in neighbours if n.get("note")))
    n = len(NOTE_MARKS)
    marks = {note: NOTE_MARKS[i % n] * (1 + i // n) for i, note in enumerate(notes)}
    listed = ", ".join(
        f"{esc(str(n['formula']))} {esc(str(n['space_group']))}{marks.get(n.get('note'), '')} "
        f"{float(n['similarity']):.{digits}f}"
        for n in neighbours
    )
    return listed + "".join(f"; {mark} {esc(note)}" for note, mark in marks.items())


def set_title(prediction_set: dict) -> str:
    """Name a set: ``90% set (conformal)``, ``90% per-class set (conformal)``, ...

    A widened set says why, e.g. ``90% set (conformal, widened: one reflection family)``.
    """
    kind = "per-class set" if prediction_set.get("by_class") else "set"
    widened = prediction_set.get("widened")
    how = f"conformal, widened: {widened}" if widened else "conformal"
    return f"{prediction_set['coverage']:.0%} {kind} ({how})"


def describe_set(prediction_set: dict, n_classes: int) -> str:
    """One line for a set, e.g. ``Pm-3m (221), R-3c (167); 2 of 21 classes``.

    ``every class`` for a set widened for a single reflection family.
    """
    if prediction_set.get("widened") == WIDENED_ONE_FAMILY:
        return "every class"
    classes = prediction_set["classes"]
    always = prediction_set.get("always_in", 0)
    why = f" ({always} without enough held-out patterns are in every set)" if always else ""
    return f"{', '.join(classes)}; {len(classes)} of {n_classes} classes{why}"


def phase_kind(top_label: str | None) -> str:
    """Name a phase found beside an answer of class ``top_label``.

    A ``secondary phase`` beside a structure class; a ``known phase`` beside a mixture class
    (``other``), which fits no main phase, so the phase may be most of the sample.
    """
    return "known phase" if top_label in NO_STRUCTURE else "secondary phase"


@dataclass
class PatternView:
    """A pattern on an explicit axis.

    Attributes:
        two_theta: angles, degrees 2θ, shape (N,).
        intensity: intensities, shape (N,).
        wavelength: Å the angles refer to.
    """

    two_theta: np.ndarray
    intensity: np.ndarray
    wavelength: float


@dataclass
class Answer:
    """The prediction for one file (JSON keys are the attribute names, arrays excluded).

    Attributes (besides the JSON ones described in the module docstring):
        probabilities, std: mean probability and its std over predictive samples, per class.
        top_k: (class, probability, std) of the most probable classes.
        regions: the 2θ windows that drove the decision, with the hkl inside them.
        reference: the reference structure of the predicted class, its cell scale and its
            reflections moved onto this pattern (``reflections``: 2θ in degrees, hkl).
        neighbours: the closest known structures by search-match (``structure_id``,
            ``formula``, ``space_group``, cosine ``similarity`` on the model's input,
            ``note``).
        secondary_phases, unexplained_peaks: secondary-phase evidence (README answer schema);
            None when not checked.
        measured: the pattern as given (its own 2θ axis and wavelength); not in JSON.
        model_input: the pattern as the model saw it (model axis, background removed,
            normalised); not in JSON.
        attribution: attribution per model grid point, shape (L,), when explained; not in JSON.
    """

    file: str
    decision: Decision
    label: str | None = None
    top_label: str | None = None
    task: str | None = None
    method: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    entropy: float | None = None
    mutual_information: float | None = None
    threshold: float | None = None
    top_k: list[tuple[str, float, float]] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)
    measured_range: tuple[float, float] | None = None
    coverage: float | None = None
    wavelength: float | None = None
    wavelength_source: WavelengthSource | None = None
    reference: dict = field(default_factory=dict)
    feature_distance: float | None = None
    far_from_training: bool | None = None
    neighbours: list[dict] = field(default_factory=list)
    secondary_phases: list[dict] | None = None
    unexplained_peaks: list[dict] | None = None
    one_family: dict | None = None
    perovskite_match: dict | None = None
    pseudo_cubic: dict | None = None
    tilt_note: str | None = None
    prediction_set: dict | None = None
    seed: int | None = None
    error: str | None = None
    measured: PatternView | None = field(default=None, repr=False)
    model_input: PatternView | None = field(default=None, repr=False)
    attribution: np.ndarray | None = field(default=None, repr=False)

    ARRAYS = ("measured", "model_input", "attribution")

    @property
    def abstain(self) -> bool:
        """True when the model declines to answer."""
        return self.decision == "abstain"

    @classmethod
    def skipped(cls, file: str, error: str) -> Answer:
        """Return the record of a file that could not be answered."""
        return cls(file=file, decision="skipped", error=error)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (arrays left out; tuples become lists; a copy throughout)."""
        return {
            f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name not in self.ARRAYS
        }

    def text(self) -> str:
        """Format the answer as a few readable lines."""
        if self.decision == "skipped":
            return f"{self.file}\n  skipped: {self.error}"
        why = abstain_reason(
            self.one_family,
            self.top_k,
            self.threshold,  # type: ignore[arg-type]
            self.perovskite_match,
        )
        verdict = f"ABSTAIN ({why}; leading: {self.top_label})" if self.abstain else f"{self.label}"
        lines = [f"{self.file}", f"  {self.task}: {verdict}   [{self.method}]"]
        for name, p, s in self.top_k:
            lines.append(f"    {name:<24s} p = {p:.3f} ± {s:.3f}")
        if self.prediction_set:
            lines.append(
                f"  {set_title(self.prediction_set)}: "
                + describe_set(self.prediction_set, len(self.probabilities))
            )
        mi = (
            ""
            if self.mutual_information is None
            else f", mutual information {self.mutual_information:.3f}"
        )
        lines.append(f"  entropy {self.entropy:.3f} nats{mi}")
        lo, hi = self.measured_range or (0.0, 0.0)
        lines.append(
            f"  used 2θ {lo:.2f}–{hi:.2f}° ({self.coverage:.0%} of the model grid), "
            f"λ = {self.wavelength:.5f} Å from the {self.wavelength_source}"
        )
        if self.far_from_training is not None:
            where = (
                "FAR FROM TRAINING: unlike every pattern the model learned from (noise, "
                "another kind of phase, or texture / substrate peaks); check the answer "
                "against the peaks"
                if self.far_from_training
                else "within the range of the training data"
            )
            lines.append(f"  feature distance {format_distance(self.feature_distance)}: {where}")
        match = self.perovskite_match
        widened = (self.prediction_set or {}).get("classes", [])
        if below_floor(match):
            lines.append(
                f"  UNLIKE EVERY TRAINING PEROVSKITE: best cosine {match['similarity']:.2f} "
                f"(< {match['floor']:.2f}) to the clean patterns of the perovskites the model "
                "learned from; the pattern may hold no perovskite"
                + (", so no class is given" if match["withheld"] else "")
                + ("; the set holds other" if match["withheld"] and "other" in widened else "")
            )
        if self.one_family:
            f = self.one_family
            seen = ", ".join(f"{t:.2f}°" for t in f["two_theta"])
            lines.append(
                f"  ONE REFLECTION FAMILY: the peaks {seen} are orders "
                f"{', '.join(map(str, f['orders']))} of d = {f['d_spacing']:.3f} Å "
                f"({f['share']:.0%} of the peak height): strong preferred orientation, the "
                "space group is not determined by this pattern (measure it tilted, or as "
                "a powder)"
            )
        lines.extend(self._cell_lines())
        if self.regions:
            lines.append("  decided by: " + "; ".join(r["text"] for r in self.regions))
        if self.reference:
            lines.append(
                f"  hkl from reference {self.reference['structure']} of the predicted class, "
                f"cell scaled ×{self.reference['cell_scale']:.3f} to fit this pattern"
            )
        if self.neighbours:
            lines.append(
                "  closest known structures (search-match, cosine): "
                + describe_neighbours(self.neighbours)
            )
        lines.extend(self._phase_lines())
        return "\n".join(lines)

    def _cell_lines(self) -> list[str]:
        """Format the pseudo-cubic cell, its tilt lines and the tilt note (none: no cell)."""
        if not self.pseudo_cubic:
            return []
        out = [f"  pseudo-cubic {describe(self.pseudo_cubic)}"]
        if self.tilt_note:
            out.append(f"  NOTE: {self.tilt_note}")
        return out

    def _phase_lines(self) -> list[str]:
        """Secondary phases and unexplained peaks, one line each (none when not checked)."""
        if self.secondary_phases is None:
            return []
        kind = phase_kind(self.top_label)
        out = []
        for ph in self.secondary_phases:
            seen = ", ".join(f"{m['hkl']} {m['two_theta_observed']:.2f}°" for m in ph["matched"])
            oriented = f", {ph['orientation']}-oriented" if ph.get("orientation") else ""
            out.append(
                f"  {kind} {ph['name']} {ph['space_group']} ({ph['source']}{oriented}): "
                f"score {ph['score']:.2f}, lines {seen}"
            )
        if not self.secondary_phases:
            out.append("  no secondary phase found among the library's candidates")
        for p in self.unexplained_peaks or []:
            maybe = (
                f" (one peak; could be {', '.join(p['consistent_with'])})"
                if p["consistent_with"]
                else ""
            )
            out.append(
                f"  unexplained peak {p['two_theta']:.2f}° (d = {p['d']:.3f} Å, "
                f"height {p['height']:.2f}){maybe}"
            )
        return out


def _plain(value: Any) -> Any:  # noqa: ANN401
    """Copy of ``value`` with every dict, list and tuple copied (tuples as lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
