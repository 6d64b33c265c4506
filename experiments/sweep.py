"""An experiment's sweep, fast (`deepad.sweep`): the runs and folders of `run.py -m`, composed once
per config-group choice, in JOBS worker processes, the runs of one network together.

    python experiments/sweep.py +experiment=ovr profile=quick [--jobs 2] [--threads 1] [overrides]
        [--slice dataset.contamination=0.1 --slice seed=0]  (the union of these slices of the sweep)
"""

import argparse
import sys

from deepad import sweep  # light: torch is imported by the workers only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    parser.add_argument(
        "--slice",
        action="append",
        default=[],
        metavar="OVERRIDES",
        help="run the union of slices: each one or more space-separated overrides that narrow "
        "the sweep (repeat the option); a run in two slices runs once",
    )
    args, overrides = parser.parse_known_args()
    slices = [part.split() for part in args.slice]
    counts = sweep.run(overrides, args.jobs, args.threads, slices)
    sys.exit(1 if counts["failed"] else 0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # as pipeline.interruptible: every file is whole or absent
        print("\ninterrupted: finished runs are kept and nothing partial is; "
              "run the same command again to resume", file=sys.stderr)  # fmt: skip
        sys.exit(130)
