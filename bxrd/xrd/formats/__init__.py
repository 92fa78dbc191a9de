"""Readers of measured powder patterns, one module per format family, picked by a registry.

==============================  ==========================  ===================================
format                          module                      wavelength from the file
==============================  ==========================  ===================================
``.xy .xye .csv .txt .dat``     :mod:`.text`                RRUFF ``##WAVELENGTH=``; else none
``.npy`` ``.npz``               :mod:`.npy`                 none (RRUFF convention: Cu Kα)
``.xrdml`` (PANalytical)        :mod:`.xrdml`               Kα1, Kα2, ratio, anode, monochromator
``.brml`` (Bruker)              :mod:`.brml`                Kα1, Kα2, ratio, anode, monochromator
``.raw`` (Bruker v3, v4)        :mod:`.bruker_raw`          Kα1, Kα2, ratio, anode
``.ras`` ``.rasx`` (Rigaku)     :mod:`.rigaku`              Kα1, Kα2, anode (ratio 0.5)
``.uxd`` (Bruker text)          :mod:`.uxd`                 Kα1, Kα2, ratio, anode
``.gsa .gss .fxye`` (GSAS)      :mod:`.gsas`                a ``# Wavelength`` comment, if any
``.cif`` (pdCIF ``_pd_``)       :mod:`.pdcif`               ``_diffrn_radiation_wavelength``
==============================  ==========================  ===================================

Every reader goes through :mod:`.limits` (file size, points, zip members and decompressed
size, XML without entities). :func:`read_file` returns one
:class:`~.base.MeasuredPattern` per scan.
"""

from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions
from bxrd.xrd.formats.limits import ReadLimits
from bxrd.xrd.formats.registry import FORMATS, PATTERN_SUFFIXES, detect_format, read_file

__all__ = [
    "FORMATS",
    "PATTERN_SUFFIXES",
    "MeasuredPattern",
    "ReadLimits",
    "ReadOptions",
    "detect_format",
    "read_file",
]
