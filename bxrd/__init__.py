"""bxrd: Bayesian deep learning on powder X-ray diffraction patterns."""

__version__ = "0.1.0"
