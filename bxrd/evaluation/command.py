"""``bxrd experiments --config configs/experiments/<suite>.yaml``: run the suite's sections.

Every model is trained by ``bxrd fit`` on an experiment YAML (see :mod:`.training`); tables
(CSV + Markdown), ``summary.md`` and ``run.json`` go to the suite's ``output`` folder::

    bxrd data build --config configs/build/benchmark.yaml
    bxrd experiments --config configs/experiments/benchmark.yaml
    bxrd experiments --config configs/experiments/benchmark.yaml --sections rows yes_no
"""

from __future__ import annotations

import argparse
import sys
import time

from bxrd.errors import BxrdInputError
from bxrd.evaluation.sections import baselines, measured, methods, rows, structure_type, yes_no
from bxrd.evaluation.suite import SECTIONS, Suite, SuiteConfig

#: Section name → its ``run(suite)``; ``baselines`` runs with ``rows``.
RUNNERS = {
    "rows": (rows.run, baselines.run),
    "methods": (methods.run,),
    "structure_type": (structure_type.run,),
    "yes_no": (yes_no.run,),
    "measured": (measured.run,),
}


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit code 0, or 2 on bad input (message on stderr)."""
    p = argparse.ArgumentParser(prog="bxrd experiments", description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="suite YAML (configs/experiments/...)")
    p.add_argument("--sections", nargs="+", choices=SECTIONS, help="override the YAML's list")
    p.add_argument("--output", help="override the YAML's output folder")
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train every model again (default: reuse a fit finished in the output folder "
        "with the same arguments, experiment YAMLs, dataset and bxrd sources)",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        config = SuiteConfig.load(args.config)
        config.sections = args.sections or config.sections
        config.output = args.output or config.output
        suite = Suite(config, reuse=not args.retrain)
    except BxrdInputError as exc:
        print(f"bxrd: error: {exc}", file=sys.stderr)
        return 2
    for name in SECTIONS:
        if name in config.sections:
            t = time.perf_counter()
            for runner in RUNNERS[name]:
                runner(suite)
            suite.timed(name, t)
            print(f"[{name} done in {time.perf_counter() - t:.0f} s]", flush=True)
    wall = time.perf_counter() - t0
    suite.write_record(wall)
    suite.tables.summary(f"# bxrd experiments: {args.config}\n\nwall time {wall:.0f} s\n")
    print(f"wall_time_s={wall:.0f} output={suite.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
