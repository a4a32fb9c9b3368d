"""Helpers shared by the benchmark scripts (not part of the installed package)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """``../shared/data`` beside the repository when it is there, else the tests' copy."""
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else REPO / "tests" / "data"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def default_embedding_cache() -> Path:
    """Where the benchmarks keep embedded texts between runs (a screenwise store)."""
    return REPO / "data" / "bench-cache" / "embeddings.sqlite"


def labeled_with_vectors(path: Path, cache: Path, model: str | None = None):
    """A labeled dataset and its vectors (rows in file order), embedding only what ``cache``
    lacks, with a progress bar."""
    from index.datasets import dataset_vectors, read_labeled
    from index.embedder import DEFAULT_MODEL, Embedder

    dataset = read_labeled(path)
    vectors = dataset_vectors(dataset, Embedder(model or DEFAULT_MODEL), cache, progress=True)
    return dataset, vectors


def process_memory_mib(pid: int, field: str = "VmHWM") -> float | None:
    """A field of ``/proc/<pid>/status`` in MiB (``VmHWM``: peak resident memory, ``VmRSS``:
    now), or ``None`` where there is no such file (not Linux) or field."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


QUESTIONS = Path(__file__).resolve().parent / "questions.json"


def load_questions(path: Path | None = QUESTIONS) -> dict[str, str]:
    """Each dataset's review question (``bench/questions.json``: written before screening, from
    the review's topic only; see its ``how_written``); none without ``path``."""
    import json

    if path is None:
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["questions"]


def review_question(dataset: str, path: Path = QUESTIONS) -> str | None:
    """A dataset's review question (``load_questions``), or ``None``."""
    return load_questions(path).get(dataset)


_ENCODERS: dict[str, object] = {}


def question_vector(dataset: str, model: str | None = None):
    """``(text, vector)`` of a dataset's review question (the vector: the text embedded as a
    query, as the service embeds a project's question), or ``(None, None)``."""
    from index.embedder import DEFAULT_MODEL, Embedder

    text = review_question(dataset)
    if not text:
        return None, None
    name = model or DEFAULT_MODEL
    if name not in _ENCODERS:
        _ENCODERS[name] = Embedder(name)
    return text, _ENCODERS[name].encode_query(text)


def question_inputs(dataset: str, features, model: str | None = None):
    """``(question_vector, question_signal)`` for ``classifier.simulate.simulate``: the dataset's
    review question embedded as a query and its signal over ``features``
    (``classifier.question``), as the service computes them for a project with that question;
    ``(None, None)`` for a dataset without one."""
    from classifier.question import question_signal

    text, vector = question_vector(dataset, model)
    if text is None:
        return None, None
    return vector, question_signal(features, text, vector)


def replay(features, labels, seed: int, question):
    """A review replayed as the benchmarks replay it (``classifier.simulate.simulate``, the
    default setting, ``retrain="fast"``, priors drawn with ``seed``), weighing its question as
    the service does; ``question``: ``question_inputs`` of the review."""
    from classifier.simulate import simulate

    vector, signal = question
    return simulate(
        features, labels, seed=seed, retrain="fast", question_vector=vector, question=signal
    )
