"""``python -m bxrd.cli ARGS`` runs the ``bxrd`` command."""

from bxrd.cli import run

run()
