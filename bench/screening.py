"""Screenwise's ranking against ASReview LAB (elas_u4) on every labeled screening dataset.

For each dataset in ``--data``/screening and each seed, ASReview runs
``asreview simulate X.csv --ai elas_u4 --n-prior-included 1 --n-prior-excluded 1 --prior-seed S
--seed S`` (in its own environment, ``--asreview-env``; outputs kept under ``--cache`` and
reused), and screenwise replays the same dataset from ASReview's own priors with each setting
of ``--settings`` (retrain="fast", the study's schedule), handing each dataset's review question
(``--questions``, default ``bench/questions.json``) to the settings that weigh it. Prints one
markdown table: per dataset and mean, RRF@10, WSS@95, WSS@100, loss, ATD and wall time for both
systems, and the wins.

    python bench/screening.py --jobs 2 --json bench/out/screening.json
    python bench/screening.py --variant C2=logistic+maxcos+semantic+question,C=2.0 \
        --settings C2

``--own-priors`` skips ASReview: each seed's priors (one include, one exclude) are drawn by
``classifier.simulate`` instead of read from ASReview's runs, so any seeds can be replayed (more
seeds than ASReview's cached three, to tell a setting's gain from the seeds' noise); it writes
``--json`` and prints each setting's means, to be compared with ``bench/sweep_table.py FILE
--against SETTING``:

    python bench/screening.py --own-priors --seeds 10 11 12 13 14 15 16 17 \
        --settings logistic+maxcos+semantic+question default+question.5+late0.05 \
        --json bench/out/screening-seeds.json

``--variant`` defines a setting for a sweep (a named setting with some parameters changed);
``--title-abstract`` builds the TF-IDF of title and abstract alone, as releases before the keywords
were read did (the issue-14 sweep's first rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    default_data_dir,
    default_embedding_cache,
    load_questions,
    markdown_table,
)
from classifier.features import CorpusFeatures
from classifier.metrics import screening_metrics
from classifier.question import question_signal
from classifier.relevance import DEFAULT_SETTING, SETTINGS
from classifier.simulate import simulate

METRICS = ("rrf10", "wss95", "wss100", "loss", "atd")


# ---------------------------------------------------------------- ASReview


def asreview_output(cache_dir: Path, dataset: str, seed: int) -> Path:
    return cache_dir / f"{dataset}-{seed}.asreview"


def run_asreview(csv: Path, seed: int, env_dir: Path | None, cache_dir: Path) -> Path:
    """Run one ASReview simulation unless its output is already in ``cache_dir``; the wall time
    goes into ``cache_dir/times.json``."""
    out = asreview_output(cache_dir, csv.stem, seed)
    if out.exists():
        return out
    if env_dir is None:
        raise SystemExit(
            f"{out} is missing: give --asreview-env, a virtualenv with asreview==3.0.8 "
            "(see bench/README.md)"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f"{csv.stem}-{seed}.tmp.asreview"
    tmp.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [str(env_dir / "bin" / "asreview"), "simulate", str(csv.resolve()), "--ai", "elas_u4"]
    command += ["--n-prior-included", "1", "--n-prior-excluded", "1"]
    command += ["--prior-seed", str(seed), "--seed", str(seed), "-o", str(tmp.resolve())]
    started = time.perf_counter()
    # cwd: ASReview leaves a synergy_cache.sqlite in its working folder.
    subprocess.run(command, check=True, env=env, capture_output=True, cwd=cache_dir)
    seconds = time.perf_counter() - started
    tmp.rename(out)
    times_path = cache_dir / "times.json"
    times = json.loads(times_path.read_text()) if times_path.exists() else {}
    times[out.name] = round(seconds, 2)
    times_path.write_text(json.dumps(times, indent=1, sort_keys=True))
    return out


def read_asreview(path: Path) -> dict:
    """Priors, screening order (0-based dataset rows) and labels from a ``.asreview`` file: a zip
    of the project folder whose ``results.db`` table ``results`` holds one row per label in the
    order given; the priors are the rows no classifier chose (``training_set`` is NULL)."""
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("results.db"))
            db_path = archive.extract(name, folder)
        db = sqlite3.connect(db_path)
        try:
            rows = db.execute(
                "SELECT r.record_id, r.label, r.training_set, c.dataset_row FROM results r "
                "JOIN record c ON c.record_id = r.record_id ORDER BY r.rowid"
            ).fetchall()
            n_records = db.execute("SELECT count(*) FROM record").fetchone()[0]
        finally:
            db.close()
    return {
        "priors": [row[3] for row in rows if row[2] is None],
        "order": [row[3] for row in rows],
        "labels": [row[1] for row in rows],
        "n_records": n_records,
    }


def asreview_metrics(result: dict) -> dict[str, float]:
    """Metrics of an ASReview run, which stops at the last relevant record: the records it never
    screened are all irrelevant, so the order is padded with zeros to M."""
    n_priors = len(result["priors"])
    labels = result["labels"][n_priors:]
    M = result["n_records"] - n_priors
    return screening_metrics(labels + [0] * (M - len(labels)))


# ---------------------------------------------------------------- screenwise


class _CachedEncoder:
    """The embedder, loaded only if the cache lacks a text (usually never)."""

    def __init__(self) -> None:
        from index.embedder import DEFAULT_MODEL

        self.model_id = DEFAULT_MODEL
        self.dimension = 384
        self._encoder = None

    def _real(self):
        if self._encoder is None:
            from index.embedder import Embedder

            self._encoder = Embedder(self.model_id)
        return self._encoder

    def encode_documents(self, texts, *, progress: bool = False) -> np.ndarray:
        return self._real().encode_documents(texts, progress=progress)

    def encode_query(self, text: str) -> np.ndarray:
        return self._real().encode_query(text)


@cache
def load_dataset(
    csv: str, embeddings_cache: str, keywords: bool = True
) -> tuple[CorpusFeatures, np.ndarray, list[str]]:
    """Features, labels and ids of a dataset, as the service builds a project's: the TF-IDF
    reads title, abstract and keywords (``index.records.lexical_text``; title and abstract
    alone without ``keywords``), the embeddings title and abstract."""
    from index.datasets import dataset_vectors, read_labeled

    dataset = read_labeled(Path(csv))
    vectors = dataset_vectors(dataset, _CachedEncoder(), embeddings_cache)
    return (
        CorpusFeatures.build(dataset.texts, vectors, dataset.lexical if keywords else None),
        dataset.labels.astype(np.int64),
        dataset.ids,
    )


def register_variant(spec: str) -> str:
    """``NAME=BASE,key=value,...``: a setting NAME with BASE's parameters, some changed (the
    ``RelevanceModel`` parameters, e.g. ``C=2,ratio=20``), for a sweep; returns NAME."""
    from classifier.relevance import _PARAMS

    name, _, rest = spec.partition("=")
    base, *changes = rest.split(",")
    if not name or base not in _PARAMS:
        raise SystemExit(f"--variant {spec!r}: want NAME=BASE[,key=value...], BASE a setting")
    params = dict(_PARAMS[base])
    for change in changes:
        key, _, value = change.partition("=")
        params[key] = float(value) if "." in value or "e" in value else int(value)
    _PARAMS[name] = params
    SETTINGS[name] = f"{base} with {', '.join(changes)}"
    return name


@cache
def _question_signal(
    csv: str, embeddings_cache: str, text: str, vector: tuple, keywords: bool = True
) -> np.ndarray:
    features, _, _ = load_dataset(csv, embeddings_cache, keywords)
    return question_signal(features, text, np.asarray(vector, dtype=np.float32))


def run_screenwise(
    task: tuple[str, str, int, list[int], str, str | None, tuple | None, bool],
) -> dict:
    csv, setting, seed, priors, embeddings_cache, question_text, question_vector, keywords = task
    features, labels, _ = load_dataset(csv, embeddings_cache, keywords)
    question = (
        _question_signal(csv, embeddings_cache, question_text, question_vector, keywords)
        if question_text
        else None
    )
    run = simulate(
        features,
        labels,
        seed=seed,
        setting=setting,
        priors=priors,
        retrain="fast",
        question=question,
    )
    return {
        "dataset": Path(csv).stem,
        "setting": setting,
        "seed": seed,
        "priors": run.priors,
        "order": run.order,
        "metrics": run.metrics,
        "seconds": run.seconds,
    }


# ---------------------------------------------------------------- table


def _fmt(metric: str, value: float) -> str:
    return f"{value:.3f}" if metric in ("loss", "atd") else f"{value:.1f}"


def summarise(
    asr: dict[tuple[str, int], dict], ours: list[dict], setting: str, datasets: list[str]
) -> tuple[list[str], list[list[object]], dict]:
    headers = ["dataset"]
    for metric in (*METRICS, "s"):
        headers += [f"{metric} asr", f"{metric} sw"]
    headers.append("loss win")
    rows, per_dataset = [], {}
    for name in datasets:
        a = [asr[key] for key in asr if key[0] == name]
        b = [r for r in ours if r["dataset"] == name and r["setting"] == setting]
        if not a or not b:
            continue
        cells: dict[str, tuple[float, float]] = {}
        for metric in METRICS:
            cells[metric] = (
                float(np.mean([r["metrics"][metric] for r in a])),
                float(np.mean([r["metrics"][metric] for r in b])),
            )
        cells["s"] = (
            float(np.mean([r["seconds"] for r in a])),
            float(np.mean([r["seconds"] for r in b])),
        )
        per_dataset[name] = cells
    for name, cells in per_dataset.items():
        row: list[object] = [name]
        for metric in (*METRICS, "s"):
            row += [_fmt(metric, cells[metric][0]), _fmt(metric, cells[metric][1])]
        loss_a, loss_b = cells["loss"]
        row.append("sw" if loss_b < loss_a else ("tie" if loss_b == loss_a else "asr"))
        rows.append(row)
    summary: dict = {"datasets": len(per_dataset)}
    if per_dataset:
        mean_row: list[object] = ["**mean**"]
        for metric in (*METRICS, "s"):
            for side in (0, 1):
                value = float(np.mean([c[metric][side] for c in per_dataset.values()]))
                summary[f"{metric}_{'asr' if side == 0 else 'sw'}"] = value
                mean_row.append(f"**{_fmt(metric, value)}**")
        wins = sum(c["loss"][1] < c["loss"][0] for c in per_dataset.values())
        rrf_drop = max(c["rrf10"][0] - c["rrf10"][1] for c in per_dataset.values())
        summary |= {"loss_wins": wins, "max_rrf10_drop": rrf_drop}
        mean_row.append(f"**{wins}/{len(per_dataset)}**")
        rows.append(mean_row)
    return headers, rows, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument(
        "--asreview-env",
        type=Path,
        default=None,
        help="virtualenv with asreview==3.0.8 (needed only for runs not yet in --cache)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("bench/out/asreview"),
        help="folder of ASReview outputs (X-S.asreview), reused when present",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--settings",
        nargs="+",
        default=[DEFAULT_SETTING],
        help=f"screenwise settings, the first one tabled: {', '.join(SETTINGS)}",
    )
    parser.add_argument("--datasets", nargs="*", default=None, help="dataset names (file stems)")
    parser.add_argument(
        "--questions",
        type=Path,
        default=Path(__file__).resolve().parent / "questions.json",
        help="each dataset's review question, for the settings that weigh it",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=BASE,key=value,...: a setting with some of BASE's parameters changed "
        "(name it in --settings)",
    )
    parser.add_argument(
        "--title-abstract",
        action="store_true",
        help="TF-IDF of title and abstract only (as before the keywords were read)",
    )
    parser.add_argument(
        "--own-priors",
        action="store_true",
        help="no ASReview: priors drawn by the simulator from each seed (settings compared "
        "with each other only)",
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="write every run (orders too)")
    args = parser.parse_args(argv)
    for spec in args.variant:
        register_variant(spec)
    for setting in args.settings:
        if setting not in SETTINGS:
            parser.error(f"unknown setting {setting!r}; known: {', '.join(SETTINGS)}")

    csvs = sorted((args.data / "screening").glob("*.csv"))
    if args.datasets:
        csvs = [c for c in csvs if c.stem in args.datasets]
    times_path = args.cache / "times.json"
    asr: dict[tuple[str, int], dict] = {}
    for csv in csvs if not args.own_priors else []:
        for seed in args.seeds:
            path = run_asreview(csv, seed, args.asreview_env, args.cache)
            result = read_asreview(path)
            times = json.loads(times_path.read_text()) if times_path.exists() else {}
            result["metrics"] = asreview_metrics(result)
            result["seconds"] = float(times.get(path.name, float("nan")))
            asr[(csv.stem, seed)] = result

    questions = load_questions(args.questions)
    vectors: dict[str, tuple | None] = {}
    encoder = _CachedEncoder()
    for csv in csvs:
        text = questions.get(csv.stem)
        vectors[csv.stem] = tuple(encoder.encode_query(text).tolist()) if text else None
    tasks = [
        (
            str(csv),
            setting,
            seed,
            None if args.own_priors else asr[(csv.stem, seed)]["priors"],
            str(args.embeddings_cache),
            questions.get(csv.stem),
            vectors[csv.stem],
            not args.title_abstract,
        )
        for setting in args.settings
        for csv in csvs
        for seed in args.seeds
    ]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            ours = list(pool.map(run_screenwise, tasks, chunksize=1))
    else:
        ours = [run_screenwise(task) for task in tasks]

    datasets = [csv.stem for csv in csvs]
    if args.own_priors:
        print(f"screenwise settings, priors drawn from seeds {args.seeds}, mean over datasets\n")
        rows = []
        for setting in args.settings:
            runs = [r["metrics"] for r in ours if r["setting"] == setting]
            means = [float(np.mean([m[k] for m in runs])) for k in ("loss", "wss95", "rrf10")]
            rows.append(
                [setting, len(datasets), f"{means[0]:.4f}", *(f"{v:.1f}" for v in means[1:])]
            )
        print(markdown_table(["setting", "datasets", "loss", "WSS@95", "RRF@10"], rows))
    else:
        _print_against_asreview(args, asr, ours, datasets)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        asr_runs = [
            {
                "dataset": k[0],
                "seed": k[1],
                "priors": v["priors"],
                "order": v["order"],
                "metrics": v["metrics"],
                "seconds": v["seconds"],
            }
            for k, v in asr.items()
        ]
        args.json.write_text(json.dumps({"asreview": asr_runs, "screenwise": ours}))
    return 0


def _print_against_asreview(args, asr: dict, ours: list[dict], datasets: list[str]) -> None:
    print(
        f"ASReview elas_u4 vs screenwise '{args.settings[0]}', seeds {args.seeds}, "
        "mean over seeds; asr = ASReview, sw = screenwise (retrain='fast'); s = wall seconds "
        "per run (ASReview: the whole CLI run)\n"
    )
    headers, rows, summary = summarise(asr, ours, args.settings[0], datasets)
    print(markdown_table(headers, rows))
    if len(args.settings) > 1:
        print()
        overview = []
        for setting in args.settings:
            _, _, s = summarise(asr, ours, setting, datasets)
            overview.append(
                [
                    setting,
                    f"{s['loss_sw']:.4f}",
                    f"{s['wss95_sw']:.1f}",
                    f"{s['rrf10_sw']:.1f}",
                    f"{s['loss_wins']}/{s['datasets']}",
                    f"{s['max_rrf10_drop']:.1f}",
                ]
            )
        overview.append(
            [
                "ASReview elas_u4",
                f"{summary['loss_asr']:.4f}",
                f"{summary['wss95_asr']:.1f}",
                f"{summary['rrf10_asr']:.1f}",
                "-",
                "-",
            ]
        )
        print(
            markdown_table(
                ["setting", "loss", "WSS@95", "RRF@10", "loss wins vs u4", "max RRF@10 drop"],
                overview,
            )
        )


if __name__ == "__main__":
    raise SystemExit(main())
