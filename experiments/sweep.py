"""An experiment's sweep, fast (`deepad.sweep`): the runs and folders of `run.py -m`, composed once
per config-group choice, in JOBS worker processes, the runs of one network together.

    python experiments/sweep.py +experiment=ovr profile=quick [--jobs 2] [--threads 1] [overrides]
"""

import argparse
import sys

from deepad import sweep  # light: torch is imported by the workers only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    args, overrides = parser.parse_known_args()
    counts = sweep.run(overrides, args.jobs, args.threads)
    sys.exit(1 if counts["failed"] else 0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # as pipeline.interruptible: every file is whole or absent
        print("\ninterrupted: finished runs are kept and nothing partial is; "
              "run the same command again to resume", file=sys.stderr)  # fmt: skip
        sys.exit(130)
