"""Peak memory of reading one large CSV export that is refused at its last line (issue 12: a
190 MB CSV refused at its end peaked at 1.7 GB). Each size is read in a fresh process.

    .venv/bin/python bench/reader_memory.py [--rows 60000 120000]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = [
    "trial",
    "placebo",
    "children",
    "adhd",
    "dose",
    "effect",
    "outcome",
    "cohort",
    "random",
    "study",
]
PROBE = """
import resource, sys, time
from index.readers import read_records
from index.errors import ImportFormatError
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    read_records(sys.argv[1])
    outcome = "read"
except ImportFormatError:
    outcome = "refused"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{peak / 1024:.0f} {(peak - base) / 1024:.0f} {time.perf_counter() - started:.1f} {outcome}")
"""


def write_csv(path: Path, rows: int) -> None:
    """``rows`` rows with a 150-word abstract, then one broken row (an unterminated quote)."""
    rng = random.Random(1)
    with path.open("w") as out:
        out.write("title,abstract,authors,year\n")
        for i in range(rows):
            abstract = " ".join(rng.choice(WORDS) for _ in range(150))
            out.write(f'"Title {i}","{abstract}","Liu, R.; Adler, D.G.",2001\n')
        out.write('"broken,"unterminated\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[60_000, 120_000])
    args = parser.parse_args()
    print("| rows | file MB | peak RSS MB | read adds MB | seconds | outcome |")
    print("|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            path = Path(folder) / f"big-{rows}.csv"
            write_csv(path, rows)
            result = subprocess.run(
                [sys.executable, "-c", PROBE, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            peak, added, seconds, outcome = result.stdout.split()
            size = path.stat().st_size / 1e6
            print(f"| {rows:,} | {size:.0f} | {peak} | {added} | {seconds} | {outcome} |")


if __name__ == "__main__":
    main()
