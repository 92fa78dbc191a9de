"""One module per section of the suite; each has ``run(suite)``."""
