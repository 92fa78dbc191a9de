"""What a measured pattern has that a clean simulation lacks: the options and their ranges.

One dataclass, :class:`RealismConfig`, holds a switch per effect (for an ablation: turn one off,
keep the rest) and the range each random parameter is drawn from, with where the range comes
from. It is nested in :class:`bxrd.xrd.augment.AugmentConfig` as ``realism`` (YAML:
``augment: {realism: {doublet: true, ...}}``); ``realism: null`` keeps the plain simulation.

Effects and where they act:

============================  ==============================  ===============================
effect                        switch                          module
============================  ==============================  ===============================
Kα1/Kα2 doublet, Kβ leak      ``doublet``, ``kbeta``          :mod:`bxrd.xrd.instrument`
instrument profile            ``instrument``, ``asymmetry``   :mod:`bxrd.xrd.instrument`
microstrain broadening        ``microstrain``                 :mod:`bxrd.xrd.instrument`
displacement + zero offset    ``displacement``                :mod:`bxrd.xrd.instrument`
preferred orientation         ``march_dollase``               :mod:`bxrd.xrd.orientation`
secondary phases, substrates  ``secondary_phases``            :mod:`bxrd.xrd.phases`
background                    ``background``, ``hump``,       :mod:`bxrd.xrd.background`
                              ``air_scatter``
counting statistics           ``counting_noise``              :mod:`bxrd.xrd.background`
measured-pattern preparation  ``subtract_background``         :mod:`bxrd.xrd.prepare`
scan range short of the grid  ``scan_range``                  :mod:`bxrd.xrd.scan_range`
============================  ==============================  ===============================
"""

from __future__ import annotations

from dataclasses import dataclass, fields

#: Secondary phases and substrates of halide-perovskite films (GUIDE §4): precursors and
#: decomposition products (PbI2, PbBr2, CsI, PbO), transport layer (TiO2), substrates
#: (SnO2 from FTO, In2O3 from ITO, Si wafers).
DEFAULT_PHASES: tuple[str, ...] = ("PbI2", "PbBr2", "CsI", "PbO", "TiO2", "SnO2", "In2O3", "Si")

SWITCHES: tuple[str, ...] = (
    "doublet",
    "kbeta",
    "instrument",
    "asymmetry",
    "microstrain",
    "displacement",
    "march_dollase",
    "secondary_phases",
    "background",
    "hump",
    "air_scatter",
    "counting_noise",
    "subtract_background",
    "scan_range",
)


@dataclass
class RealismConfig:
    """Switches and parameter ranges of the measurement model.

    Ranges are ``(lo, hi)`` tuples drawn uniformly per pattern unless said otherwise.

    Attributes:
        doublet: render Kα1 and Kα2 (else one line at the anode's weighted Kα).
        kbeta: add a weak Kβ line (an imperfect Ni/Fe/Mn/V/Zr filter).
        instrument: Caglioti pseudo-Voigt instrument profile (else size broadening only).
        asymmetry: low-angle tail from axial divergence.
        microstrain: strain broadening β = 4 ε tan θ.
        displacement: sample-height shift Δ2θ = −2 s cos θ / R plus a zero offset.
        march_dollase: March–Dollase preferred orientation (replaces the ±cos² texture rule
            of the ``texture`` augmentation whenever this is on).
        secondary_phases: add sticks of real secondary phases / substrates.
        background: low-order Chebyshev background.
        hump: amorphous (glass substrate) hump.
        air_scatter: air scatter rising toward low angle.
        counting_noise: Poisson counts at a drawn peak count level.
        subtract_background: prepare rendered patterns exactly as measured ones
            (:func:`bxrd.xrd.prepare.prepare_patterns` with background removal).
        scan_range: measure part of the patterns over a shorter 2θ range than the grid, zero
            outside and background estimated inside, as the reader prepares such scans
            (:mod:`bxrd.xrd.scan_range`). Off by default: the re-rendered benchmark numbers
            of earlier models were drawn without it.
        anodes: tube anodes drawn per pattern (``"Cu"``, ``"Co"``, ``"Mo"``, ``"Fe"``,
            ``"Cr"``) or wavelengths in Å (a monochromatic source: one line). Line positions are
            rendered in the frame of the model's wavelength, i.e. as a measured pattern of that
            anode looks after Bragg-law conversion to the model grid.
        kalpha1_only_fraction: fraction of patterns from a Kα1 monochromator (no Kα2).
        kbeta_ratio: I(Kβ)/I(Kα1). Residual Kβ after a Ni filter on Cu is ≈ 0.3–1 %
            (filter transmission tables, International Tables C §4.2.2).
        caglioti_u: U, deg². With V and W: FWHM² = U tan²θ + V tan θ + W (Caglioti, Paoletti
            & Ricci, Nucl. Instrum. 3, 223, 1958). Lab Bragg–Brentano instruments on LaB6
            (NIST SRM 660) give FWHM ≈ 0.05–0.15° over 10–80° 2θ (GUIDE §4); U, W ranges span
            that (FWHM at 10°: √W ≈ 0.045–0.11°; at 80°: ≈ 0.06–0.16°).
        caglioti_w: W, deg².
        caglioti_v_fraction: V = −f · 2√(UW), f drawn in this range; f < 1 keeps FWHM² > 0 at
            every angle (V is small and negative in instrument fits).
        eta: Lorentzian fraction of the instrument pseudo-Voigt (Thompson–Cox–Hastings fits of
            lab data: ≈ 0.3–0.8).
        asymmetry_deg: A in τ = A cot 2θ (degrees 2θ), the decay length of a one-sided
            exponential low-angle tail; axial divergence asymmetry falls as cot 2θ (Finger, Cox &
            Jephcoat, J. Appl. Cryst. 27, 892, 1994); A = 0.02° gives a 0.11° tail at 10°.
        microstrain_range: ε (dimensionless). Williamson–Hall analyses of halide-perovskite
            films give ≈ 0.05–0.2 %; ε = 0.002 widens a reflection at 77° 2θ by 0.37°.
        displacement_mm: sample height error s, mm. Films on thick or bent substrates are off
            by up to ≈ 0.1–0.2 mm.
        goniometer_radius_mm: R, mm (lab goniometers ≈ 185–300 mm).
        zero_offset_deg: constant 2θ zero error, drawn in ± this, degrees (a calibrated
            instrument: ≤ 0.02–0.05°).
        texture_fraction: fraction of patterns with preferred orientation.
        march_dollase_r: r (1 = random powder; films ≈ 0.3–0.8, GUIDE §4).
        low_index_fraction: fraction of textured patterns oriented along the scattering vector
            of one of the ``low_index_count`` lowest-angle reflections (films grow with
            low-index planes parallel to the substrate); the rest along a uniform direction.
        low_index_count: how many of the lowest-angle reflections are candidates.
        phase_dir: folder of the phases' structures (pymatgen JSON / MP documents as in
            ``shared/data/structures/binaries_mp``); Si is built from its diamond structure.
        phases: formulas of the secondary phases / substrates.
        phase_probability: chance that a pattern carries secondary phases.
        max_phases: at most this many phases per pattern.
        weight_fraction: weight fraction of each added phase (intensity follows from the
            phases' absolute scattering power per unit mass, see :mod:`bxrd.xrd.phases`).
        background_level: Chebyshev constant term, relative to the strongest main peak.
        chebyshev_degree: highest Chebyshev order (coefficients 1.. are ± 30 % of the constant).
        hump_height: amorphous hump height relative to the strongest main peak (thin films on
            glass: up to comparable to the peaks).
        hump_d: d-spacing of the hump centre, Å (silica glass: 2θ ≈ 20–30° with Cu, d ≈ 3–4.4 Å).
        hump_fwhm_deg: hump FWHM, degrees 2θ (glass: ≈ 8–10°).
        air_level: air scatter at the grid's first angle, relative to the strongest main peak.
        air_decay_deg: e-folding of air scatter with 2θ, degrees.
        peak_counts: counts at the strongest peak, log-uniform (lab scans: 10³–10⁵, GUIDE §4).
        scan_range_fraction: fraction of patterns with a shorter scan range.
        scan_start_deg: start of a short scan, degrees 2θ on the model grid (rounded to whole
            degrees). Lab scans of perovskites start at 5–15°; a start above the first
            reflection (cubic iodides: (100) at 14°) drops it, as such a scan would.
        scan_stop_deg: end of a short scan, degrees 2θ (whole degrees). Of the films in
            ``shared/data/patterns/thinfilm_perovskites``, 27 stop at 60°, 13 at 70° and 5
            run to 80°. With start ≤ 15° and stop ≥ 50° a scan covers at least half of the
            10–80° grid, the least the reader accepts.
        n_bands: 2θ bands of the instrument kernel (it varies slowly with angle; each peak is
            split linearly between its two nearest band kernels).
    """

    doublet: bool = True
    kbeta: bool = False
    instrument: bool = True
    asymmetry: bool = True
    microstrain: bool = True
    displacement: bool = True
    march_dollase: bool = True
    secondary_phases: bool = True
    background: bool = True
    hump: bool = True
    air_scatter: bool = True
    counting_noise: bool = True
    subtract_background: bool = True
    scan_range: bool = False

    anodes: tuple[str | float, ...] = ("Cu",)
    kalpha1_only_fraction: float = 0.0
    kbeta_ratio: tuple[float, float] = (0.002, 0.01)
    caglioti_u: tuple[float, float] = (0.002, 0.02)
    caglioti_w: tuple[float, float] = (0.002, 0.012)
    caglioti_v_fraction: tuple[float, float] = (0.0, 0.9)
    eta: tuple[float, float] = (0.3, 0.8)
    asymmetry_deg: tuple[float, float] = (0.0, 0.02)
    microstrain_range: tuple[float, float] = (0.0, 0.002)
    displacement_mm: tuple[float, float] = (-0.15, 0.15)
    goniometer_radius_mm: tuple[float, float] = (185.0, 300.0)
    zero_offset_deg: float = 0.03
    texture_fraction: float = 0.8
    march_dollase_r: tuple[float, float] = (0.3, 1.0)
    low_index_fraction: float = 0.7
    low_index_count: int = 6
    phase_dir: str = "../shared/data/structures/binaries_mp"
    phases: tuple[str, ...] = DEFAULT_PHASES
    phase_probability: float = 0.5
    max_phases: int = 2
    weight_fraction: tuple[float, float] = (0.01, 0.15)
    background_level: tuple[float, float] = (0.0, 0.1)
    chebyshev_degree: int = 3
    hump_height: tuple[float, float] = (0.0, 0.3)
    hump_d: tuple[float, float] = (3.0, 4.4)
    hump_fwhm_deg: tuple[float, float] = (6.0, 12.0)
    air_level: tuple[float, float] = (0.0, 0.3)
    air_decay_deg: tuple[float, float] = (2.0, 8.0)
    peak_counts: tuple[float, float] = (1e3, 1e5)
    scan_range_fraction: float = 0.5
    scan_start_deg: tuple[float, float] = (10.0, 15.0)
    scan_stop_deg: tuple[float, float] = (50.0, 80.0)
    n_bands: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # YAML gives lists
                value = tuple(value)
                setattr(self, f.name, value)
            if isinstance(value, tuple) and len(value) == 2 and f.name not in ("anodes", "phases"):
                lo, hi = value
                if not lo <= hi:
                    raise ValueError(f"realism.{f.name}: range needs min <= max, got {value}")
        for name in (
            "kalpha1_only_fraction",
            "texture_fraction",
            "low_index_fraction",
            "phase_probability",
            "scan_range_fraction",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"realism.{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 < self.march_dollase_r[0] <= self.march_dollase_r[1]:
            raise ValueError(f"realism.march_dollase_r must be > 0, got {self.march_dollase_r}")
        if self.caglioti_v_fraction[1] >= 1.0 or self.caglioti_v_fraction[0] < 0.0:
            raise ValueError("realism.caglioti_v_fraction must lie in [0, 1) (FWHM² > 0)")
        if min(self.caglioti_u[0], self.caglioti_w[0]) < 0 or self.caglioti_w[1] <= 0:
            raise ValueError("realism.caglioti_u / caglioti_w must be ≥ 0 (W > 0)")
        if self.peak_counts[0] <= 0:
            raise ValueError(f"realism.peak_counts must be > 0, got {self.peak_counts}")
        if self.scan_start_deg[1] >= self.scan_stop_deg[0]:
            raise ValueError(
                f"realism.scan_start_deg {self.scan_start_deg} must end below "
                f"scan_stop_deg {self.scan_stop_deg}"
            )
        if self.n_bands < 2:
            raise ValueError(f"realism.n_bands must be ≥ 2, got {self.n_bands}")
        if not self.anodes:
            raise ValueError("realism.anodes must name at least one anode or wavelength")

    def without(self, switch: str) -> RealismConfig:
        """Copy this config with one effect switched off (an ablation row)."""
        if switch not in SWITCHES:
            raise ValueError(f"unknown realism switch {switch!r}; choose from {SWITCHES}")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values[switch] = False
        return RealismConfig(**values)


__all__ = ["DEFAULT_PHASES", "SWITCHES", "RealismConfig"]
