"""Labeled datasets for simulation: any supported format, embedded through the cache."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from index.datasets import dataset_vectors, read_labeled
from index.errors import ImportFormatError
from tests.fakes import HashingEncoder

DATA = Path(__file__).parent / "data"
ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


def test_read_labeled_keeps_file_ids_order_and_labels():
    dataset = read_labeled(ADHD)
    with ADHD.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(dataset) == len(rows) == 851
    assert dataset.ids == [row["record_id"] for row in rows]
    assert dataset.labels.tolist() == [int(row["label_included"]) for row in rows]
    assert dataset.n_included == 20
    assert dataset.texts[0].startswith(rows[0]["title"].strip())


def test_read_labeled_names_the_first_unlabeled_record(tmp_path):
    path = tmp_path / "partly.csv"
    with ADHD.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:5]
    rows[3]["label_included"] = ""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportFormatError, match=r"partly\.csv: line 5 has no include/exclude"):
        read_labeled(path)


def test_dataset_vectors_embed_each_text_once(tmp_path):
    dataset = read_labeled(ADHD)
    encoder = HashingEncoder()
    cache = tmp_path / "cache.sqlite"
    first = dataset_vectors(dataset, encoder, cache)
    embedded = encoder.encoded
    assert first.shape == (len(dataset), encoder.dimension)
    assert embedded == len(set(dataset.texts))
    second = dataset_vectors(dataset, encoder, cache)
    assert encoder.encoded == embedded
    np.testing.assert_array_equal(first, second)
