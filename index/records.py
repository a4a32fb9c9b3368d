"""The normalised bibliographic record every reader returns and the store keeps."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Label = Literal[0, 1]


@dataclass
class Record:
    """One bibliographic record as read from an export file.

    ``label`` is a prior include (1) / exclude (0) decision found in the file, ``None`` when the
    file says nothing. ``source_id`` is the id the record had in its file (a CSV ``record_id``
    column, a RIS ``ID``, else the PMID). ``line`` is where the record starts in its file
    (1-based), for messages. ``maybe`` marks a prior 'maybe' decision (``label`` is then
    ``None``); ``decision_reason`` and ``decision_note`` go with a prior decision (a
    screenwise export re-imported).
    """

    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    doi: str = ""
    pmid: str = ""
    url: str = ""
    keywords: list[str] = field(default_factory=list)
    ref_type: str = ""
    source_id: str = ""
    label: Label | None = None
    themes: list[str] = field(default_factory=list)
    notes: str = ""
    maybe: bool = False
    decision_reason: str = ""
    decision_note: str = ""
    line: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def has_text(self) -> bool:
        """Whether there is a title or an abstract to embed."""
        return bool(self.title.strip() or self.abstract.strip())

    @property
    def text(self) -> str:
        """The text that is embedded and classified: title and abstract."""
        return embedding_text(self.title, self.abstract)

    @property
    def lexical_text(self) -> str:
        """What the relevance model's TF-IDF reads: title, abstract and keywords."""
        return lexical_text(self.title, self.abstract, self.keywords)


def embedding_text(title: str, abstract: str) -> str:
    """Title and abstract joined the way every model in screenwise sees them."""
    return " ".join(part.strip() for part in (title, abstract) if part and part.strip())


# What ``lexical_text`` reads: part of the version of anything built from it (a saved TF-IDF,
# a saved model, a benchmark's kept orders), so that those of other features are not reused.
LEXICAL_FEATURES = "title+abstract+keywords"


def lexical_text(title: str, abstract: str, keywords: Sequence[str] = ()) -> str:
    """Title, abstract and keywords (MeSH headings, author keywords): what the relevance
    model's TF-IDF and the question's BM25 read. The keywords are words of the record as
    much as its abstract's (bench/screening.py: mean loss 0.1311 with them, 0.1353 without,
    on the 14 reviews); the embeddings read title and abstract only."""
    text = embedding_text(title, abstract)
    words = "; ".join(k.strip() for k in keywords if k and k.strip())
    return f"{text} {words}" if text and words else text or words


def text_hash(text: str) -> str:
    """Stable key of an embedded text (sha256 of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise_doi(doi: str) -> str:
    """Lower-case DOI without URL or ``doi:`` prefix; empty when it does not look like a DOI."""
    doi = _DOI_PREFIX.sub("", doi.strip()).strip().rstrip(".").lower()
    return doi if doi.startswith("10.") and "/" in doi else ""


def normalise_pmid(pmid: str) -> str:
    """Digits of a PubMed id, empty when there are none."""
    digits = re.sub(r"\D", "", pmid.split(".")[0]) if pmid else ""
    return digits.lstrip("0")


def title_key(title: str) -> str:
    """Title folded for duplicate matching: accents, case, punctuation and spacing removed."""
    folded = unicodedata.normalize("NFKD", title)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return _NON_WORD.sub(" ", folded).strip()
