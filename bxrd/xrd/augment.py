"""The five augmentations of B-VGGNet on stick batches, plus optional noise and background.

All act on sticks before rendering, batched and seeded by a ``torch.Generator``:

* ``impurity``: 1..``impurity_max_peaks`` extra sticks at random 2θ in the grid range, each at
  most ``impurity_max_intensity`` × the strongest stick (so, with the default < 1, they never
  outweigh the main phase's strongest reflection).
* ``texture``: preferred orientation along a random direction n̂: I ← I (1 + s (2 cos²φ − 1)),
  φ the angle between a reflection's scattering vector and n̂, |s| ≤ ``texture_max``; every
  intensity changes by at most ``texture_max`` (±50 % by default).
* ``size``: crystallite size drawn in ``size_range_nm``; Scherrer widths follow in rendering.
* ``strain``: lattice lengths scaled by factors in 1 ± ``strain_max`` (equal lengths stay
  equal, angles fixed); new d from hkl and the strained metric: 1/d² = h'ᵀ G* h' with
  h'_i = h_i / s_i. Peaks move exactly as Bragg's law says, no re-simulation.
* ``shift``: all peaks move by the same Δ2θ in ±``shift_max_deg`` (sample displacement).

``mode="one"`` (the paper's parallel scheme) applies one method per pattern, chosen uniformly;
``mode="all"`` applies every enabled method to every pattern.

``realism`` (a :class:`bxrd.xrd.realism.RealismConfig`, off by default) adds the measurement
to every pattern, independently of the five methods: emission lines, instrument profile,
microstrain, displacement (:mod:`bxrd.xrd.instrument`), March–Dollase texture on
``texture_fraction`` of the patterns and on every pattern the ``texture`` method picks (it then
replaces the ±cos² rule; :mod:`bxrd.xrd.orientation`), secondary phases
(:mod:`bxrd.xrd.phases`), background and counts (:mod:`bxrd.xrd.background`). Every pattern
leaves through :func:`bxrd.xrd.prepare.prepare_patterns`, the preparation measured patterns
get (background removal only with ``realism.subtract_background``); with
``realism.scan_range`` part of them is cut to a shorter scan range and prepared inside it, as
the reader prepares such scans (:mod:`bxrd.xrd.scan_range`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from bxrd.xrd.background import counting_noise, sample_background, sample_peak_counts
from bxrd.xrd.draws import uniform
from bxrd.xrd.instrument import InstrumentDraw, sample_instrument
from bxrd.xrd.orientation import family_march_dollase
from bxrd.xrd.phases import PhaseLibrary
from bxrd.xrd.prepare import prepare_patterns
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.render import Renderer
from bxrd.xrd.scan_range import prepare_scans, sample_scan_ranges
from bxrd.xrd.stick_batch import StickBatch

AUGMENTATIONS: tuple[str, ...] = ("impurity", "texture", "size", "strain", "shift")


@dataclass
class AugmentConfig:
    """Augmentation options (see module docstring for each method).

    Attributes:
        methods: enabled methods, a subset of ``impurity texture size strain shift``.
        mode: ``"one"`` method per pattern or ``"all"`` of them.
        clean_fraction: fraction of patterns left unaugmented.
        impurity_max_peaks: at most this many impurity sticks.
        impurity_max_intensity: impurity stick ≤ this × strongest stick.
        texture_max: largest relative intensity change.
        size_range_nm: crystallite size range, nm.
        base_size_nm: crystallite size when ``size`` is not applied, nm.
        strain_max: largest relative change of a lattice length.
        shift_max_deg: largest uniform shift, degrees 2θ.
        noise_level: std of Gaussian noise relative to the maximum (0: off).
        background_level: height of a decaying background relative to the maximum (0: off).
        realism: the measurement model (None: off; see :mod:`bxrd.xrd.realism`).
    """

    methods: tuple[str, ...] = AUGMENTATIONS
    mode: Literal["one", "all"] = "one"
    clean_fraction: float = 0.0
    impurity_max_peaks: int = 5
    impurity_max_intensity: float = 0.3
    texture_max: float = 0.5
    size_range_nm: tuple[float, float] = (10.0, 100.0)
    base_size_nm: float = 40.0
    strain_max: float = 0.03
    shift_max_deg: float = 0.3
    noise_level: float = 0.0
    background_level: float = 0.0
    realism: RealismConfig | None = None

    def __post_init__(self) -> None:
        if isinstance(self.realism, dict):
            self.realism = RealismConfig(**self.realism)
        unknown = set(self.methods) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(
                f"unknown augmentation(s) {sorted(unknown)}; choose from {AUGMENTATIONS}"
            )
        if self.mode not in ("one", "all"):
            raise ValueError(f"mode must be 'one' or 'all', got {self.mode!r}")
        if not 0.0 <= self.texture_max < 1.0:
            raise ValueError(f"texture_max must be in [0, 1), got {self.texture_max}")
        if not 0.0 <= self.strain_max < 0.5:
            raise ValueError(f"strain_max must be in [0, 0.5), got {self.strain_max}")
        lo, hi = self.size_range_nm
        if not 0.0 < lo <= hi:
            raise ValueError(f"size_range_nm must satisfy 0 < min <= max, got {(lo, hi)}")


@dataclass
class AugmentedSticks:
    """Sticks after augmentation, ready to render.

    Attributes:
        u: positions sin θ, shape (B, P'); P' = P + impurity slots.
        intensity: shape (B, P').
        size_nm: crystallite size per pattern, shape (B,).
        applied: method flags, shape (B, len(AUGMENTATIONS)), column order of :data:`AUGMENTATIONS`.
        instrument: emission lines, profile and geometry per pattern (None without realism).
    """

    u: torch.Tensor
    intensity: torch.Tensor
    size_nm: torch.Tensor
    applied: torch.Tensor
    instrument: InstrumentDraw | None = None


def strained_inv_d2(batch: StickBatch, scale: torch.Tensor) -> torch.Tensor:
    """1/d² (Å⁻²) of every stick after scaling the lattice lengths, shape (B, P).

    Args:
        batch: sticks with hkl and the reciprocal metric G* of the unstrained cell.
        scale: factor per lattice length (a, b, c), shape (B, 3); angles are kept, so the
            strained G*_ij = G*_ij / (s_i s_j) and 1/d² = Σ_ij h_i h_j G*_ij / (s_i s_j).
    """
    h = batch.hkl.double() / scale.double()[:, None, :]
    inv_d2 = torch.einsum("bpi,bij,bpj->bp", h, batch.recip_metric, h)
    return torch.where(batch.intensity > 0, inv_d2, batch.inv_d2)


class Augmenter:
    """Augment stick batches and render them on the renderer's grid."""

    def __init__(self, renderer: Renderer, config: AugmentConfig | None = None) -> None:
        self.renderer = renderer
        self.config = config or AugmentConfig()
        real = self.config.realism
        self.phases = (
            PhaseLibrary.load(real.phase_dir, real.phases)
            if real is not None and real.secondary_phases
            else None
        )

    def choose(self, b: int, gen: torch.Generator) -> torch.Tensor:
        """Which methods apply to each of ``b`` patterns, bool (b, len(AUGMENTATIONS))."""
        cfg = self.config
        enabled = torch.tensor([m in cfg.methods for m in AUGMENTATIONS])
        if cfg.mode == "all" or not enabled.any():
            flags = enabled.expand(b, -1).clone()
        else:
            idx = torch.nonzero(enabled).flatten()
            pick = idx[torch.randint(len(idx), (b,), generator=gen)]
            flags = torch.nn.functional.one_hot(pick, len(AUGMENTATIONS)).bool()
        clean = torch.rand(b, generator=gen) < cfg.clean_fraction
        return flags & ~clean[:, None]

    def augment(self, batch: StickBatch, gen: torch.Generator) -> AugmentedSticks:
        """Apply the configured methods to ``batch`` (no rendering)."""
        cfg, b = self.config, len(batch)
        flags = self.choose(b, gen)
        on = {m: flags[:, i] for i, m in enumerate(AUGMENTATIONS)}
        lam = self.renderer.wavelength

        # strain: symmetry-preserving scaling of lattice lengths, d from hkl and the metric
        free = 1.0 + uniform(-cfg.strain_max, cfg.strain_max, (b, 3), gen)
        scale = torch.where(on["strain"][:, None], free.gather(1, batch.ties), 1.0)
        u = lam / 2.0 * torch.sqrt(strained_inv_d2(batch, scale))

        # shift: the same Δ2θ for every peak
        delta = torch.where(
            on["shift"], uniform(-cfg.shift_max_deg, cfg.shift_max_deg, (b,), gen), 0.0
        )
        theta = torch.asin(u.clamp(max=1.0)) + torch.deg2rad(delta)[:, None] / 2.0
        valid = u < 1.0
        u = torch.where(valid, torch.sin(theta), 2.0)

        # texture: preferred orientation along a random direction
        direction = torch.randn((b, 3), generator=gen)
        direction = direction / direction.norm(dim=1, keepdim=True)
        real = cfg.realism
        if real is not None and real.march_dollase:
            intensity = batch.intensity.double() * self._march_dollase(batch, on, direction, gen)
        else:
            cos2 = torch.einsum("bpi,bi->bp", batch.normals, direction) ** 2
            strength = torch.where(
                on["texture"], uniform(-cfg.texture_max, cfg.texture_max, (b,), gen), 0.0
            )
            intensity = batch.intensity.double() * (1.0 + strength[:, None] * (2.0 * cos2 - 1.0))
        intensity = torch.where(valid, intensity, 0.0)

        # impurity: extra sticks, weaker than the strongest main stick
        k_max = cfg.impurity_max_peaks
        if k_max > 0:
            count = torch.randint(1, k_max + 1, (b,), generator=gen)
            count = torch.where(on["impurity"], count, 0)
            grid = self.renderer.grid
            tt = uniform(grid.start, grid.stop, (b, k_max), gen)
            imp_u = torch.sin(torch.deg2rad(tt) / 2.0)
            rel = uniform(0.02, cfg.impurity_max_intensity, (b, k_max), gen)
            imp_i = rel * intensity.amax(dim=1, keepdim=True)
            imp_i = torch.where(torch.arange(k_max)[None, :] < count[:, None], imp_i, 0.0)
            u = torch.cat([u, imp_u], dim=1)
            intensity = torch.cat([intensity, imp_i], dim=1)

        # secondary phases and substrates: real sticks at sampled weight fractions
        if self.phases is not None:
            main_peak = intensity.amax(dim=1).float()
            ph_u, ph_i = self.phases.sample(real, main_peak, lam, gen)
            u = torch.cat([u, ph_u.double()], dim=1)
            intensity = torch.cat([intensity, ph_i.double()], dim=1)

        # size: Scherrer broadening happens in rendering
        lo, hi = cfg.size_range_nm
        size = torch.where(on["size"], uniform(lo, hi, (b,), gen), cfg.base_size_nm)
        instrument = None if real is None else sample_instrument(real, b, lam, gen)
        return AugmentedSticks(u.float(), intensity.float(), size.float(), flags, instrument)

    def _march_dollase(
        self,
        batch: StickBatch,
        on: dict[str, torch.Tensor],
        direction: torch.Tensor,
        gen: torch.Generator,
    ) -> torch.Tensor:
        """March–Dollase factors (B, P) on the textured patterns (1 on the others)."""
        real, b = self.config.realism, len(batch)
        textured = on["texture"] | (torch.rand(b, generator=gen) < real.texture_fraction)
        count = (batch.intensity > 0).sum(dim=1).clamp_min(1)
        first = (torch.rand(b, generator=gen) * count.clamp(max=real.low_index_count)).long()
        low_index = batch.normals[torch.arange(b), first]
        along = torch.rand(b, generator=gen) < real.low_index_fraction
        direction = torch.where(along[:, None], low_index, direction.float())
        r = torch.where(textured, uniform(*real.march_dollase_r, (b,), gen), 1.0).float()
        factor = family_march_dollase(
            batch.normals, batch.rotations, batch.rotation_weight, direction, r
        )
        return factor.double()

    def finish(self, patterns: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Add background, noise and counts to rendered patterns; prepare them like measured ones.

        Returns:
            Shape (B, n_points), through :func:`bxrd.xrd.prepare.prepare_patterns` (max 1),
            or with ``realism.scan_range`` through :func:`bxrd.xrd.scan_range.prepare_scans`
            (zero outside each drawn scan range).
        """
        cfg, real = self.config, self.config.realism
        b, n = patterns.shape
        out = patterns
        if cfg.background_level > 0 or cfg.noise_level > 0:
            x = torch.linspace(0.0, 1.0, n)[None, :]
            decay = uniform(1.0, 5.0, (b, 1), gen).float()
            level = uniform(0.0, cfg.background_level, (b, 1), gen, torch.float32)
            out = out + level * torch.exp(-decay * x)
            out = out + cfg.noise_level * torch.randn((b, n), generator=gen)
        if real is not None:
            grid = self.renderer.grid
            out = out + sample_background(real, grid, self.renderer.wavelength, b, gen)
            if real.counting_noise:
                out = counting_noise(out, sample_peak_counts(real, b, gen), gen)
        subtract = real is not None and real.subtract_background
        if real is not None and real.scan_range:
            inside = sample_scan_ranges(real, self.renderer.grid, b, gen)
            return prepare_scans(out, inside, self.renderer.grid.step, background=subtract)
        return prepare_patterns(out, self.renderer.grid.step, background=subtract)

    def __call__(
        self, batch: StickBatch, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment and render: patterns (B, n_points) with max 1, and method flags (B, 5).

        Rows are processed in groups of similar stick count (:meth:`StickBatch.width_groups`),
        so one large cell does not pad the whole batch to its width.
        """
        groups = batch.width_groups()
        if len(groups) == 1:
            return self._render(batch, gen)
        done = [(idx, *self._render(batch.select(idx), gen)) for idx in groups]
        patterns = torch.empty((len(batch), done[0][1].shape[1]), dtype=done[0][1].dtype)
        applied = torch.empty((len(batch), done[0][2].shape[1]), dtype=done[0][2].dtype)
        for idx, x, flags in done:
            patterns[idx], applied[idx] = x, flags
        return patterns, applied

    def _render(self, batch: StickBatch, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        sticks = self.augment(batch, gen)
        real = self.config.realism
        n_bands = 4 if real is None else real.n_bands
        patterns = self.renderer(
            sticks.u, sticks.intensity, sticks.size_nm, sticks.instrument, n_bands
        )
        return self.finish(patterns, gen), sticks.applied


def render_clean(renderer: Renderer, batch: StickBatch, size_nm: float = 40.0) -> torch.Tensor:
    """Render ``batch`` without augmentation at one crystallite size, shape (B, n_points)."""
    u = renderer.wavelength / 2.0 * torch.sqrt(batch.inv_d2)
    intensity = torch.where(u < 1.0, batch.intensity, 0.0)
    size = torch.full((len(batch),), float(size_nm))
    return renderer(u.float(), intensity, size)


__all__ = ["AUGMENTATIONS", "AugmentConfig", "AugmentedSticks", "Augmenter", "render_clean"]
