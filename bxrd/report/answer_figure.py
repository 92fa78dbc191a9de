"""The figure of one answered pattern: the evidence drawn on the pattern, and the probabilities.

Left, top to bottom: the measurement as given (its own 2θ axis and wavelength); the pattern
as the model saw it (model grid and wavelength, background removed, maximum 1) with the
2θ windows that decided the answer shaded and labelled by their hkl, and the peaks no
candidate class explains marked (those left after the secondary-phase check, when it ran),
and the peaks matched to a secondary phase or substrate
marked with its name and hkl; the predicted class's reference reflections fitted to the
pattern, as ticks with hkl. Right: the class probabilities (mean over samples ± std) with
the abstention threshold. Labels are placed so that none overlaps another.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bxrd.explain.figures import place_labels
from bxrd.inference.answer import set_title
from bxrd.xrd.wavelength import two_theta_from_d

#: Colours: shaded decision windows, reference ticks, unexplained peaks, secondary phases.
WINDOW, TICK, UNEXPLAINED, PHASE = "#f5a623", "#1f5fa8", "#c62828", "#6a1b9a"
#: Largest number of classes drawn in the probability panel (the most probable ones).
MAX_CLASSES = 10


def _pattern_axes(
    ax: Axes,
    tick_ax: Axes,
    two_theta: np.ndarray,
    intensity: np.ndarray,
    regions: list[dict],
    reflections: list[dict],
    unexplained: list[dict],
) -> tuple[list[Text], list[Text]]:
    """Draw the model's view with windows, unexplained peaks and reflection ticks."""
    ax.plot(two_theta, intensity, lw=0.7, color="k")
    window_labels = []
    for r in regions:
        ax.axvspan(r["lo"], r["hi"], color=WINDOW, alpha=0.35, lw=0)
        tick_ax.axvspan(r["lo"], r["hi"], color=WINDOW, alpha=0.35, lw=0)
        hkl = ", ".join(f"({h})" for h in r.get("hkl", [])) or "no reflection"
        label = ax.text(
            (r["lo"] + r["hi"]) / 2,
            0.86,
            f"{hkl} {r['score']:.0%}",
            ha="center",
            va="bottom",
            fontsize=8,
            color="#7a4f00",
            transform=ax.get_xaxis_transform(),
        )
        window_labels.append(label)
    if unexplained:
        t = np.array([p["two_theta"] for p in unexplained])
        h = np.interp(t, two_theta, intensity)
        ax.plot(t, h + 0.06, "v", color=UNEXPLAINED, ms=6)
    ax.set(ylabel="intensity (max = 1)", ylim=(-0.02, 1.45), xlim=(two_theta[0], two_theta[-1]))
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    tick_labels = []
    if reflections:
        tt = np.array([r["two_theta"] for r in reflections])
        inten = np.array([r.get("intensity", 1.0) for r in reflections], dtype=float)
        tick_ax.vlines(tt, 1 - 0.45 * (0.2 + 0.8 * inten / inten.max()), 1, color=TICK, lw=1)
        for k in np.argsort(-inten, kind="stable"):
            tick_labels.append(
                tick_ax.text(tt[k], 0.04, f"{reflections[k]['hkl']}", ha="center",
                             va="bottom", fontsize=7, color=TICK)
            )  # fmt: skip
    tick_ax.set(ylim=(0, 1), yticks=[])
    return window_labels, tick_labels


def _phase_marks(
    ax: Axes,
    two_theta: np.ndarray,
    intensity: np.ndarray,
    phases: list[dict],
    wavelength: float,
) -> list[Text]:
    """Mark each secondary phase's matched peaks (◆) with its name and hkl.

    Matched peaks are placed through their d-spacing (``d_observed``, Å) on the model grid
    of wavelength ``wavelength`` (Å): the answer states their 2θ at the file's wavelength.
    """
    labels = []
    for ph in phases:
        d = np.array([m["d_observed"] for m in ph["matched"]], dtype=float)
        t = two_theta_from_d(d, wavelength)
        h = np.interp(t, two_theta, intensity)
        ax.plot(t, h + 0.06, "D", color=PHASE, ms=4)
        for tk, hk, m in zip(t, h, ph["matched"], strict=True):
            labels.append(
                ax.text(tk, hk + 0.1, f"{ph['name']} {m['hkl']}", ha="center", va="bottom",
                        fontsize=7, color=PHASE)
            )  # fmt: skip
    return labels


def _probability_axes(
    ax: Axes, probabilities: dict, std: dict, threshold: float, prediction_set: dict | None
) -> None:
    """Bars of mean probability ± std, most probable first, the threshold; set names in bold."""
    names = sorted(probabilities, key=lambda n: -probabilities[n])[:MAX_CLASSES][::-1]
    p = np.array([probabilities[n] for n in names])
    s = np.array([std.get(n, 0.0) for n in names])
    y = np.arange(len(names))
    colours = ["#2e7d32" if v >= threshold else "#9e9e9e" for v in p]
    ax.barh(y, p, color=colours, height=0.6)
    low, high = np.minimum(s, p), np.minimum(s, 1 - p)  # error bars kept inside [0, 1]
    ax.errorbar(p, y, xerr=[low, high], fmt="none", ecolor="k", capsize=3, lw=1)
    ax.axvline(threshold, color=UNEXPLAINED, ls="--", lw=1)
    ax.text(threshold, len(names) - 0.4, f" abstain below {threshold:.2f}", fontsize=7,
            color=UNEXPLAINED, va="bottom")  # fmt: skip
    ax.set_yticks(y, names, fontsize=8)
    xlabel = "probability (mean ± std)"
    if prediction_set:
        for label in ax.get_yticklabels():
            label.set_fontweight(
                "bold" if label.get_text() in prediction_set["classes"] else "normal"
            )
        xlabel += f"\nbold: {set_title(prediction_set)}"
    ax.set(xlim=(0, 1), ylim=(-0.6, len(names) + 0.2), xlabel=xlabel)
    hidden = len(probabilities) - len(names)
    if hidden > 0:
        ax.set_title(f"{hidden} less probable classes not shown", fontsize=8, loc="left")


def answer_figure(
    answer_record: dict,
    model_two_theta: np.ndarray,
    model_intensity: np.ndarray,
    measured: tuple[np.ndarray, np.ndarray, float | None] | None,
    model_wavelength: float,
) -> Figure:
    """Draw one answer.

    Args:
        answer_record: the answer as a dict (keys of :class:`bxrd.inference.answer.Answer`;
            reads ``regions``, ``reference["reflections"]``,
            ``reference["unexplained_peaks"]``, ``secondary_phases``, ``probabilities``,
            ``std``, ``threshold``, ``prediction_set``).
        model_two_theta: model grid, degrees 2θ, shape (L,).
        model_intensity: the pattern the model read, shape (L,).
        measured: the file's 2θ (degrees), intensity and wavelength (Å or None), or None.
        model_wavelength: Å, of the model grid.
    """
    fig = Figure(figsize=(11, 6.0 if measured is not None else 4.6))
    FigureCanvasAgg(fig)  # a renderer for label placement
    outer = fig.add_gridspec(1, 2, width_ratios=[3.2, 1], wspace=0.22)
    ratios = [1.0, 3.3] if measured is not None else [1.0]
    left = outer[0, 0].subgridspec(len(ratios), 1, height_ratios=ratios, hspace=0.42)
    if measured is not None:
        raw = fig.add_subplot(left[0, 0])
        x, y, wl = measured
        power = int(np.floor(np.log10(max(float(np.max(np.abs(y))), 1e-30))))
        unit = "counts" if 0 <= power < 4 else rf"counts ($\times 10^{{{power}}}$)"
        raw.plot(x, y / 10.0 ** (power if unit != "counts" else 0), lw=0.7, color="#555555")
        at = f"λ = {wl:.5g} Å" if wl else "wavelength not stated"
        raw.set(ylabel=unit, xlim=(x[0], x[-1]))
        raw.set_xlabel(f"2θ (degrees, {at})", fontsize=8, labelpad=1)
        raw.tick_params(labelsize=8)
        raw.set_title("measured, as given", fontsize=9, loc="left")
    inner = left[-1, 0].subgridspec(2, 1, height_ratios=[2.6, 0.8], hspace=0.04)
    ax = fig.add_subplot(inner[0, 0])
    ticks = fig.add_subplot(inner[1, 0], sharex=ax)
    ax.tick_params(labelbottom=False, labelsize=8)
    ticks.tick_params(labelsize=8)
    ticks.set_xlabel(f"2θ (degrees, model grid, λ = {model_wavelength:.5g} Å)")
    ref = answer_record.get("reference") or {}
    left = answer_record.get("unexplained_peaks")  # after secondary phases, when checked
    unexplained = (
        ref.get("unexplained_peaks", [])
        if left is None
        else [{"two_theta": float(two_theta_from_d(p["d"], model_wavelength))} for p in left]
    )
    window_labels, tick_labels = _pattern_axes(
        ax, ticks, model_two_theta, model_intensity, answer_record.get("regions", []),
        ref.get("reflections", []), unexplained,
    )  # fmt: skip
    phases = answer_record.get("secondary_phases") or []
    phase_labels = _phase_marks(ax, model_two_theta, model_intensity, phases, model_wavelength)
    ax.set_title("as the model saw it (background removed); shaded: the deciding 2θ windows; "
                 "▼ peak " + ("nothing explains; ◆ secondary phase" if phases else
                 "no top class explains"), fontsize=9, loc="left")  # fmt: skip
    if ref.get("structure"):
        ticks.set_ylabel(f"{ref['structure']}\nfitted", fontsize=7, color=TICK)
    probs = fig.add_subplot(outer[0, 1])
    _probability_axes(
        probs,
        answer_record["probabilities"],
        answer_record["std"],
        answer_record["threshold"],
        answer_record.get("prediction_set"),
    )
    fig.subplots_adjust(left=0.065, right=0.98, top=0.95, bottom=0.09)
    place_labels(fig, window_labels, rows=2, dy=-0.07)
    place_labels(fig, phase_labels, rows=3, dy=0.06)
    place_labels(fig, tick_labels, rows=2, dy=0.24)
    return fig
