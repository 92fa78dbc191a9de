"""Powder XRD: simulation to stick patterns, rendering on a 2θ grid, augmentation."""
