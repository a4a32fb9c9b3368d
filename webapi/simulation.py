"""Replaying a labeled dataset as a review (``screenwise simulate``).

The dataset is read by ``index/`` (any format it reads), embedded through the home's vector
cache (a second run of the same dataset embeds nothing), and handed as arrays to
``classifier.simulate``. The results keep the dataset's own record ids, so anyone can recompute
the metrics from the order and the file's labels.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.artifacts import atomic_write
from classifier.features import CorpusFeatures
from classifier.question import question_signal
from classifier.relevance import SETTINGS, RelevanceModel
from classifier.simulate import SimulationRun, plot_recall, simulate
from index.corpus import embed_texts
from index.datasets import LabeledDataset, read_labeled
from index.errors import ValidationError

from .services import Screenwise

METRICS = ("rrf10", "wss95", "wss100", "loss", "atd")


def run_simulation(
    service: Screenwise,
    path: Path,
    seeds: Sequence[int],
    *,
    setting: str,
    n_prior_included: int = 1,
    n_prior_excluded: int = 1,
    retrain: str = "every",
    question: str | None = None,
) -> tuple[LabeledDataset, list[SimulationRun]]:
    """Simulated reviews of the labeled file at ``path``, one per seed."""
    dataset = read_labeled(path)
    included = dataset.n_included
    if included < n_prior_included or len(dataset) - included < n_prior_excluded:
        raise ValidationError(
            f"{path.name}: {included} included and {len(dataset) - included} excluded records "
            f"cannot give {n_prior_included} included and {n_prior_excluded} excluded priors",
            field="prior_included",
        )
    vectors = embed_texts(service.store, service.encoder, dataset.texts, progress=True)
    features = CorpusFeatures.build(dataset.texts, vectors, dataset.lexical)
    question_vector = service.encoder.encode_query(question) if question else None
    # The question as a lasting signal, for the settings that weigh it (as the service does).
    signal = (
        question_signal(features, question, question_vector)
        if question
        and setting in SETTINGS
        and RelevanceModel.from_setting(setting).question_weight > 0
        else None
    )
    runs = [
        simulate(
            features,
            dataset.labels,
            seed=seed,
            setting=setting,
            n_prior_included=n_prior_included,
            n_prior_excluded=n_prior_excluded,
            retrain=retrain,
            question_vector=question_vector,
            question=signal,
            progress=True,
        )
        for seed in seeds
    ]
    return dataset, runs


def runs_as_json(
    dataset: LabeledDataset, runs: Sequence[SimulationRun], *, setting: str, retrain: str
) -> list[dict[str, Any]]:
    """One object per seed: the order screened as the file's record ids (priors first)."""
    return [
        {
            "dataset": dataset.name,
            "seed": run.seed,
            "setting": setting,
            "retrain": retrain,
            "records": len(dataset),
            "included": dataset.n_included,
            "priors": [dataset.ids[row] for row in run.priors],
            "order": [dataset.ids[row] for row in run.order],
            "metrics": {
                name: round(float(run.metrics[name]), 6) if name in run.metrics else None
                for name in METRICS
            },
            "seconds": round(run.seconds, 3),
        }
        for run in runs
    ]


def write_outputs(
    dataset: LabeledDataset,
    runs: Sequence[SimulationRun],
    *,
    setting: str,
    retrain: str,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """The JSON of the runs and the PNG of their recall curves, where asked for, each written
    whole or not at all."""
    if json_path is not None:
        payload = runs_as_json(dataset, runs, setting=setting, retrain=retrain)
        atomic_write(json_path, (json.dumps(payload, indent=1) + "\n").encode("utf-8"))
    if png_path is not None:
        image = io.BytesIO()
        seeds = ", ".join(str(run.seed) for run in runs)
        title = (
            f"{dataset.name}: {len(dataset)} records, {dataset.n_included} included\n"
            f"setting {setting}, retrain {retrain}, seed{'s' if len(runs) > 1 else ''} {seeds}"
        )
        plot_recall(runs, np.asarray(dataset.labels), image, title=title)
        atomic_write(png_path, image.getvalue())
