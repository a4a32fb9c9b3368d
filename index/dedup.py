"""Duplicate detection on import: exact DOI, exact PMID, then normalised title (+ year).

Pure functions over keys; the store feeds them what it already holds for the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from .records import Record, normalise_doi, normalise_pmid, title_key

Reason = Literal["doi", "pmid", "title"]

# Shorter folded titles ("editorial", "erratum", "letter to the editor") collide by chance.
MIN_TITLE_KEY_LENGTH = 30


@dataclass(frozen=True)
class DedupKeys:
    """The normalised keys of one record."""

    doi: str
    pmid: str
    title: str
    year: int | None

    @classmethod
    def of(cls, record: Record) -> DedupKeys:
        return cls(
            normalise_doi(record.doi),
            normalise_pmid(record.pmid),
            title_key(record.title),
            record.year,
        )


@dataclass
class DedupIndex:
    """Keys of the records seen so far, each pointing at its canonical record."""

    by_doi: dict[str, int] = field(default_factory=dict)
    by_pmid: dict[str, int] = field(default_factory=dict)
    by_title: dict[str, list[tuple[int, DedupKeys]]] = field(default_factory=dict)

    def add(self, record_id: int, keys: DedupKeys) -> None:
        """Remember a canonical (non-duplicate) record."""
        if keys.doi:
            self.by_doi.setdefault(keys.doi, record_id)
        if keys.pmid:
            self.by_pmid.setdefault(keys.pmid, record_id)
        if len(keys.title) >= MIN_TITLE_KEY_LENGTH:
            self.by_title.setdefault(keys.title, []).append((record_id, keys))

    def match(self, keys: DedupKeys) -> tuple[int, Reason] | None:
        """The canonical record ``keys`` duplicates and why, or ``None``."""
        if keys.doi and keys.doi in self.by_doi:
            return self.by_doi[keys.doi], "doi"
        if keys.pmid and keys.pmid in self.by_pmid:
            return self.by_pmid[keys.pmid], "pmid"
        for record_id, other in self.by_title.get(keys.title, ()):
            if _compatible(keys, other):
                return record_id, "title"
        return None


def _compatible(a: DedupKeys, b: DedupKeys) -> bool:
    """Same title: a duplicate unless the years or the identifiers say they are different works."""
    if a.year is not None and b.year is not None and a.year != b.year:
        return False
    if a.doi and b.doi and a.doi != b.doi:
        return False
    return not (a.pmid and b.pmid and a.pmid != b.pmid)


def index_of(rows: Iterable[tuple[int, DedupKeys]]) -> DedupIndex:
    """A ``DedupIndex`` over (record_id, keys) pairs of canonical records."""
    index = DedupIndex()
    for record_id, keys in rows:
        index.add(record_id, keys)
    return index
