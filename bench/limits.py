"""How the shared data's real records stand against the seed review's search limits (1990
onwards, English), and what the one action that excludes those outside costs.

    .venv/bin/python -m bench.limits [--data DIR] [--years-from 1990] [--languages eng]

One row per file: unique records, within, outside (the limit broken: year, language), unknown
(year or language not given: never outside on that account). Then every screening set imported
into one in-memory store, with the time of the limits report and of ``apply_limits`` (one
transaction) and of the second, idempotent, call. Nothing is embedded.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from bench._common import default_data_dir
from index.limits import SearchLimits, record_languages
from index.readers import read_records
from index.store import ImportFile, NewProject, Store

FILES = (
    "import/asreview_demo_data_historic/pubmed.xml",
    "import/asreview_demo_data_historic/PTSD_VandeSchoot_18_debug.csv",
    "import/van_de_Schoot_2017/schoot-lgmm-ptsd-included-1.ris",
    "import/asreview_demo_data/pubmed_endnote.txt",
    "import/asreview_demo_data/scopus.ris",
    "import/asreview_demo_data/embase.ris",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--years-from", type=int, default=1990)
    parser.add_argument("--languages", nargs="*", default=["eng"])
    args = parser.parse_args()
    limits = SearchLimits(args.years_from, None, tuple(args.languages))
    files = [args.data / f for f in FILES] + sorted((args.data / "screening").glob("*.csv"))
    print(f"limits: years from {args.years_from}, languages {', '.join(args.languages)}\n")
    print(
        "| file | records | within | outside | by year | by language | unknown year |"
        " unknown language |"
    )
    print("|---|---|---|---|---|---|---|---|")
    parsed = []
    for path in files:
        records = read_records(path, ignore_labels=True)
        parsed.append((path, records))
        verdicts = [limits.check(r.year, record_languages(r.extra)) for r in records]
        count = {s: sum(v.status == s for v in verdicts) for s in ("within", "outside")}
        by_year = sum(any(not x.startswith("language") for x in v.reasons) for v in verdicts)
        by_language = sum(any(x.startswith("language") for x in v.reasons) for v in verdicts)
        print(
            f"| {path.name} | {len(records)} | {count['within']} | {count['outside']} |"
            f" {by_year} | {by_language} | {sum('year' in v.unknown for v in verdicts)} |"
            f" {sum('language' in v.unknown for v in verdicts)} |"
        )
    store = Store()
    screening = [(p, r) for p, r in parsed if p.parent.name == "screening"]
    pid, _ = store.import_files(
        NewProject("bench"),
        [
            ImportFile(p.name, "table", hashlib.sha256(p.read_bytes()).hexdigest(), r)
            for p, r in screening
        ],
    )
    store.update_project(
        pid,
        settings={"protocol": {"years_from": args.years_from, "languages": args.languages}},
    )
    started = time.perf_counter()
    report = store.limits_report(pid)
    reported = time.perf_counter() - started
    started = time.perf_counter()
    applied = store.apply_limits(pid, actor="bench")
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = store.apply_limits(pid, actor="bench")
    second = time.perf_counter() - started
    print(
        f"\nall {len(screening)} screening sets in one store: {report['records']} unique records,"
        f" {report['outside']} outside, {report['unknown']} unknown; report {reported:.2f} s,"
        f" apply {first:.2f} s ({applied['excluded']} excluded), again {second:.2f} s"
        f" ({again['excluded']} excluded)"
    )


if __name__ == "__main__":
    main()
