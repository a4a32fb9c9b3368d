"""The real packaged model: offline, normalised, bf16 faithful to fp32."""

import csv

import numpy as np
import pytest

from index.embedder import Embedder, cpu_has_bf16
from index.records import embedding_text
from tests.conftest import DATA

pytestmark = pytest.mark.model


def abstracts(n: int) -> list[str]:
    with open(DATA / "screening" / "Cohen_2006_ADHD.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["abstract"]][:n]
    return [embedding_text(r["title"], r["abstract"]) for r in rows]


def test_packaged_model_gives_normalised_float32(real_encoder):
    vectors = real_encoder.encode_documents(abstracts(8))
    assert vectors.shape == (8, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    query = real_encoder.encode_query("stimulants for attention deficit")
    assert query.shape == (384,)
    assert real_encoder.precision == ("bf16" if cpu_has_bf16() else "fp32")


def test_bf16_vectors_match_fp32():
    texts = abstracts(16)
    fp32 = Embedder(precision="fp32").encode_documents(texts)
    bf16 = Embedder(precision="bf16").encode_documents(texts)
    cosines = np.sum(fp32 * bf16, axis=1)
    assert cosines.min() > 0.999


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision"):
        Embedder(precision="int8")  # type: ignore[arg-type]
