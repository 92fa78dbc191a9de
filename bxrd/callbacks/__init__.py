"""Lightning callbacks: calibration and entropy figures, attributions, to TensorBoard."""
