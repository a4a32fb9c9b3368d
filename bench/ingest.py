"""Import and embedding speed: records/s to read and store, embedding records/s in fp32 and bf16,
peak memory, and a second import of the same file (which must embed nothing).

    .venv/bin/python bench/ingest.py [--data DIR] [--dataset Cohen_2006_BetaBlockers]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import default_data_dir, markdown_table, peak_rss_mib
from index import Store, read_records
from index.embedder import Embedder, cpu_has_bf16
from webapi.services import Screenwise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder")
    parser.add_argument("--dataset", default="Cohen_2006_BetaBlockers", help="screening/<name>.csv")
    parser.add_argument(
        "--embed-limit",
        type=int,
        default=0,
        help="embed only the first N texts in the fp32/bf16 comparison (0: all)",
    )
    args = parser.parse_args()
    path = args.data / "screening" / f"{args.dataset}.csv"
    rows: list[list[object]] = []

    started = time.perf_counter()
    records = read_records(path)
    read_s = time.perf_counter() - started
    with Store() as store:
        project = store.create_project("bench")
        started = time.perf_counter()
        store.import_records(project.project_id, records, filename=path.name, fmt="csv", sha256="b")
        store_s = time.perf_counter() - started
    n = len(records)
    rows.append(
        [
            "read + dedup + store (no embedding)",
            n,
            f"{read_s + store_s:.2f}",
            f"{n / (read_s + store_s):,.0f}",
        ]
    )

    texts = [r.text for r in records if r.has_text]
    if args.embed_limit:
        texts = texts[: args.embed_limit]
    vectors = {}
    for precision in ("fp32", "bf16"):
        if precision == "bf16" and not cpu_has_bf16():
            rows.append(["embedding, bf16 autocast", "-", "-", "CPU has no bf16"])
            continue
        embedder = Embedder(precision=precision)
        embedder.encode_documents(texts[:32])  # warm-up
        started = time.perf_counter()
        vectors[precision] = embedder.encode_documents(texts)
        elapsed = time.perf_counter() - started
        rows.append(
            [f"embedding, {precision}", len(texts), f"{elapsed:.1f}", f"{len(texts) / elapsed:.1f}"]
        )
    if len(vectors) == 2:
        cosine = np.sum(vectors["fp32"] * vectors["bf16"], axis=1)
        agreement = f"bf16 vs fp32 cosine: mean {cosine.mean():.5f}, min {cosine.min():.5f}"
    else:
        agreement = "bf16 not measured"

    with tempfile.TemporaryDirectory() as home:
        service = Screenwise(home, progress=False)
        started = time.perf_counter()
        [first] = service.import_files("first", [path])
        first_s = time.perf_counter() - started
        rows.append(
            [
                f"first import, full pipeline ({service.encoder.precision})",
                n,
                f"{first_s:.1f}",
                f"{n / first_s:.1f} (embedded {first['embedded']})",
            ]
        )
        started = time.perf_counter()
        [second] = service.import_files("second", [path])
        second_s = time.perf_counter() - started
        rows.append(
            [
                "second import of the same file, new project",
                n,
                f"{second_s:.2f}",
                f"{n / second_s:,.0f} (embedded {second['embedded']})",
            ]
        )
        service.close()

    print(f"## Ingest: {path.name}, {n} records\n")
    print(markdown_table(["step", "records", "seconds", "records/s"], rows))
    print(f"\n{agreement}; peak memory {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
