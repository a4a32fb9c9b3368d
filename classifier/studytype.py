"""A record's publication / study type: from the export's own metadata, else from its text.

Six types, as a review team reports its included literature (``STUDY_TYPES``): systematic or
scoping review, randomised trial, other quantitative study, qualitative study, guideline or
policy document, other.

1. **Metadata** (``from_metadata``): PubMed publication types (MEDLINE ``PT``, PubMed XML
   ``PublicationType``), RIS ``TY`` and ``M3`` (type of work), a table's "Document Type"
   column (Scopus, Web of Science, Embase). ``METADATA_TYPES`` is the whole mapping; a value
   that says nothing about the design ("Journal Article", ``JOUR``, "Article", a book
   chapter, a thesis) maps to nothing, and several values resolve by ``PRECEDENCE``
   (guideline, review, randomised trial, other quantitative, qualitative, other): a trial
   indexed "Randomized Controlled Trial" and "Comparative Study" is a randomised trial, a
   meta-analysis also indexed "Review" a review.
2. **Text** (``StudyTypeClassifier``): keyword rules over title and abstract (the design
   statements abstracts make: "systematic review", "randomly assigned", "semi-structured
   interviews", "this guideline"...), plus, when the project holds enough records whose
   metadata names a type (``MIN_TRAINING_PER_TYPE`` of two types at least), a logistic
   regression on their TF-IDF for the records the title rules leave open. PubMed has no
   publication type for qualitative studies, so that type comes from the rules alone.

Pure functions and a scikit-learn-style model: strings in, type names out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np

__all__ = [
    "LABELS",
    "STUDY_TYPES",
    "StudyTypeClassifier",
    "from_metadata",
    "metadata_values",
    "rule_type",
]

StudyType = Literal["review", "rct", "quantitative", "qualitative", "guideline", "other"]
STUDY_TYPES: tuple[str, ...] = (
    "review",
    "rct",
    "quantitative",
    "qualitative",
    "guideline",
    "other",
)
LABELS = {
    "review": "Systematic or scoping review",
    "rct": "Randomised trial",
    "quantitative": "Other quantitative study",
    "qualitative": "Qualitative study",
    "guideline": "Guideline or policy document",
    "other": "Other",
}
# Which type wins when a record's metadata names several.
PRECEDENCE = ("guideline", "review", "rct", "quantitative", "qualitative", "other")

_PUBMED = {
    "review": (
        "Systematic Review",
        "Meta-Analysis",
        "Network Meta-Analysis",
        "Scoping Review",
        "Review",  # PubMed's "Review" also covers narrative reviews; they count as reviews
    ),
    "rct": ("Randomized Controlled Trial", "Randomized Controlled Trial, Veterinary"),
    "quantitative": (
        "Clinical Trial",
        "Clinical Trial, Phase I",
        "Clinical Trial, Phase II",
        "Clinical Trial, Phase III",
        "Clinical Trial, Phase IV",
        "Clinical Trial, Veterinary",
        "Controlled Clinical Trial",
        "Adaptive Clinical Trial",
        "Pragmatic Clinical Trial",
        "Equivalence Trial",
        "Clinical Study",
        "Comparative Study",
        "Observational Study",
        "Observational Study, Veterinary",
        "Multicenter Study",
        "Evaluation Study",
        "Validation Study",
        "Twin Study",
    ),
    "guideline": (
        "Guideline",
        "Practice Guideline",
        "Consensus Development Conference",
        "Consensus Development Conference, NIH",
        "Government Publication",
        "Government Document",
        "Legislation",
    ),
    "other": (
        "Case Reports",
        "Letter",
        "Editorial",
        "Comment",
        "News",
        "Newspaper Article",
        "Biography",
        "Autobiography",
        "Historical Article",
        "Interview",  # an interview published with someone, not an interview study
        "Lecture",
        "Address",
        "Published Erratum",
        "Retraction of Publication",
        "Personal Narrative",
        "Portrait",
        "Bibliography",
        "Video-Audio Media",
        "Patient Education Handout",
        "Clinical Trial Protocol",
        "Dataset",
    ),
}
# RIS reference types (TY) and database document types (M3, "Document Type").
_RIS = {
    "guideline": ("GOVDOC", "BILL", "UNBILL", "STAT", "LEGAL", "HEAR", "STAND"),
    "other": (
        "NEWS",
        "MGZN",
        "ART",
        "SOUND",
        "VIDEO",
        "MPCT",
        "MUSIC",
        "MAP",
        "PAT",
        "PCOMM",
        "SLIDE",
        "PRESS",
        "ADVS",
        "FIGURE",
        "CHART",
        "EQUA",
        "DATA",
        "COMP",
        "BLOG",
        "ABST",
        # Scopus / Web of Science / Embase document types
        "Note",
        "Erratum",
        "Short Survey",
        "Editorial Material",
        "Meeting Abstract",
        "Book Review",
        "Correction",
        "News Item",
    ),
    "review": ("Conference Review", "Review Article", "Systematic Review and Meta-Analysis"),
}
# Every value -> type, keys folded to lower case. Values not listed say nothing. screenwise's
# own export names the type (CSV ``study_type``: the key; RIS ``M3``: the label), so that a
# re-imported export keeps it.
METADATA_TYPES: dict[str, str] = {
    value.casefold(): kind
    for table in (_PUBMED, _RIS, {kind: (kind, LABELS[kind]) for kind in STUDY_TYPES})
    for kind, values in table.items()
    for value in values
}


def metadata_values(ref_type: str, extra: dict[str, str] | None = None) -> list[str]:
    """The metadata values of a stored record that may name its type: its ``ref_type`` and,
    from ``extra``, every PubMed publication type (``publication_types``, ``; ``-separated)
    the RIS type of work (``type_of_work``) and a screenwise export's ``study_type``."""
    extra = extra or {}
    values = [ref_type]
    values += extra.get("publication_types", "").split("; ")
    values += extra.get("type_of_work", "").split("; ")
    values.append(extra.get("study_type", ""))
    return [v.strip() for v in values if v and v.strip()]


def from_metadata(values: Iterable[str]) -> str | None:
    """The study type the metadata names (``PRECEDENCE`` among several), or ``None`` when no
    value says anything about the design."""
    found = {METADATA_TYPES.get(v.strip().casefold()) for v in values} - {None}
    return next((kind for kind in PRECEDENCE if kind in found), None)


# -- rules ------------------------------------------------------------------------------------

_R = re.IGNORECASE
_REVIEW = re.compile(
    r"\b(systematic(ally)?\s+(literature\s+|mapping\s+)?review|scoping\s+review|"
    r"meta[-\s]?analy[sz](is|es)|umbrella\s+review|rapid\s+review|integrative\s+review|"
    r"realist\s+(review|synthesis)|evidence\s+synthesis|mapping\s+review|literature\s+review|"
    r"(systematic\s+)?mapping\s+stud(y|ies)|tertiary\s+study|literature\s+survey|"
    r"survey\s+of\s+(the\s+)?(literature|studies|research|experiments|empirical)|"
    r"reviewing\s+(\d+\s+years|the\s+(literature|evidence|research))|"
    r"review\s+of\s+(the\s+)?(literature|evidence|studies|trials|research)|"
    r"we\s+(systematically\s+)?(searched|reviewed)\s+(medline|pubmed|embase|cinahl|the\s+"
    r"(literature|cochrane)|electronic\s+databases|databases))",
    _R,
)
_NARRATIVE_REVIEW_TITLE = re.compile(r"(\ba\s+review\b|\breview\s*$|\boverview\b|:\s*review)", _R)
_RCT = re.compile(
    r"\b(randomi[sz]ed\s+(\w+[- ]?){0,4}(trial|study)|randomly\s+(assigned|allocated)|"
    r"were\s+randomi[sz]ed|randomi[sz]ed\s+to|randomi[sz]ation|cluster[- ]randomi[sz]ed|"
    r"placebo[- ]controlled|double[- ]blind(ed)?)",
    _R,
)
_QUALITATIVE = re.compile(
    r"\b(qualitative|semi-?structured\s+interviews?|in-?depth\s+interviews?|focus\s+groups?|"
    r"thematic(al)?\s+analys[ie]s|grounded\s+theory|phenomenolog\w*|ethnograph\w*|"
    r"interpretative\s+phenomenological|framework\s+analysis|narrative\s+inquiry|"
    r"lived\s+experiences?)",
    _R,
)
_GUIDELINE_TITLE = re.compile(
    r"\b(guidelines?|guidance|consensus\s+statement|position\s+(statement|paper)|"
    r"recommendations|policy|policies|practice\s+parameters?|standards?\s+of\s+care|"
    r"white\s+paper|act\s+\d{4}|code\s+of\s+(practice|conduct))\b",
    _R,
)
_GUIDELINE_TEXT = re.compile(
    r"\b(this\s+(guideline|guidance|policy|position\s+statement|document)|"
    r"these\s+(guidelines|recommendations)|consensus\s+statement|position\s+statement|"
    r"(we|the\s+panel|the\s+committee|the\s+task\s+force)\s+recommends?|"
    r"practice\s+guideline|clinical\s+practice\s+guidelines?\s+(is|are|was|were)\s+"
    r"(developed|updated))",
    _R,
)
_QUANTITATIVE = re.compile(
    r"\b(cohort|cross-?sectional|case-?control|prospective(ly)?|retrospective(ly)?|"
    r"longitudinal|survey|questionnaires?|regression|odds\s+ratios?|hazard\s+ratios?|"
    r"relative\s+risks?|confidence\s+intervals?|statistically|significant(ly)?|"
    r"trial|efficacy|placebo|mean|median|incidence|prevalence|"
    r"p\s*[<=>]\s*0?\.\d|\d+(\.\d+)?\s*%|n\s*=\s*\d+|\d+\s+(patients|participants|subjects|"
    r"children|adults|women|men|respondents))",
    _R,
)


def rule_type(title: str, abstract: str) -> tuple[str | None, bool]:
    """The type the keyword rules read in a record's text, and whether the reading is
    strong (a design named in the title, or a review, trial, qualitative or guideline
    statement in the abstract) rather than the weak fallbacks (statistics: other
    quantitative; nothing: ``None``)."""
    for text, in_title in ((title or "", True), (abstract or "", False)):
        low = text.lower()
        if _has(low, _REVIEW_KEYS) and _REVIEW.search(text):
            return "review", True
        if (
            in_title
            and _has(low, _GUIDELINE_KEYS)
            and _GUIDELINE_TITLE.search(text)
            and not (_has(low, _RCT_KEYS) and _RCT.search(text))
        ):
            return "guideline", True
        if not in_title and _has(low, _GUIDELINE_KEYS) and _GUIDELINE_TEXT.search(text):
            return "guideline", True
        if _has(low, _RCT_KEYS) and _RCT.search(text):
            return "rct", True
        # A qualitative word beside test statistics is a quantitative study's aside.
        if (
            _has(low, _QUALITATIVE_KEYS)
            and _QUALITATIVE.search(text)
            and (in_title or not _QUANTITATIVE_STATS.search(text))
        ):
            return "qualitative", True
        if in_title and "review" in low and _NARRATIVE_REVIEW_TITLE.search(text):
            return "review", True
    if _QUANTITATIVE.search(title or "") or _QUANTITATIVE.search(abstract or ""):
        return "quantitative", False
    return None, False


def _has(low: str, keys: tuple[str, ...]) -> bool:
    """Whether any key occurs in the lower-cased text: a cheap test before a regex (most
    texts hold none of a pattern's words, and the regexes scan every position)."""
    return any(key in low for key in keys)


_REVIEW_KEYS = ("review", "meta", "synthes", "searched", "mapping", "tertiary", "survey")
_GUIDELINE_KEYS = (
    "guid",
    "consensus",
    "position",
    "recommend",
    "polic",
    "practice parameter",
    "standard",
    "white paper",
    "act ",
    "code of",
    "document",
)
_RCT_KEYS = ("random", "placebo", "blind")
_QUALITATIVE_KEYS = (
    "qualitative",
    "interview",
    "focus group",
    "thematic",
    "grounded",
    "phenomenolog",
    "ethnograph",
    "framework analysis",
    "narrative inquiry",
    "lived experience",
)
_QUANTITATIVE_STATS = re.compile(
    r"\b(p\s*[<=>]\s*0?\.\d|odds\s+ratios?|hazard\s+ratios?|confidence\s+intervals?|"
    r"95\s*%|regression|statistically\s+significant)",
    _R,
)

# -- the model --------------------------------------------------------------------------------

# A type needs this many records with metadata before the model learns it, and the model is
# fitted only when two types have as many.
MIN_TRAINING_PER_TYPE = 10


class StudyTypeClassifier:
    """Study type from title and abstract: keyword rules, plus a TF-IDF logistic regression
    learned from records whose metadata names their type (``fit``), when there are enough.

    ``predict`` returns, per record, the type a design named in the title gives when there is
    one; else the model's type when it was fitted, unless the abstract states a design of a
    type the model never learned (qualitative, often); else the abstract's rules; else
    ``"other"``. ``classes_`` are the types the model learned (empty without a model: fewer
    than ``min_per_type`` records with text for two types).
    """

    def __init__(self, *, min_per_type: int = MIN_TRAINING_PER_TYPE, seed: int = 0) -> None:
        self.min_per_type = min_per_type
        self.seed = seed

    def fit(self, texts: Sequence[str], types: Sequence[str]) -> StudyTypeClassifier:
        if len(texts) != len(types):
            raise ValueError(f"texts has {len(texts)} items but types has {len(types)}")
        unknown = set(types) - set(STUDY_TYPES)
        if unknown:
            raise ValueError(f"unknown study types: {', '.join(sorted(unknown))}")
        # Records without text teach nothing (and would leave TF-IDF without a vocabulary).
        with_text = [i for i, text in enumerate(texts) if text and text.strip()]
        counts = Counter(types[i] for i in with_text)
        kept = sorted(t for t, n in counts.items() if n >= self.min_per_type)
        self.training_counts_ = dict(counts)
        self.vectorizer_ = None
        self.model_ = None
        self.classes_: tuple[str, ...] = ()
        if len(kept) < 2:
            return self
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        rows = [i for i in with_text if types[i] in kept]
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32
        )
        try:
            x = vectorizer.fit_transform([texts[i] for i in rows])
        except ValueError:  # no term in two records: nothing to learn from
            return self
        self.vectorizer_ = vectorizer
        self.model_ = LogisticRegression(
            C=4.0, class_weight="balanced", max_iter=2000, random_state=self.seed
        ).fit(x, [types[i] for i in rows])
        self.classes_ = tuple(str(c) for c in self.model_.classes_)
        return self

    def predict(self, titles: Sequence[str], abstracts: Sequence[str]) -> list[str]:
        """One type per record (``STUDY_TYPES``)."""
        if len(titles) != len(abstracts):
            raise ValueError(f"titles has {len(titles)} items but abstracts has {len(abstracts)}")
        model = getattr(self, "model_", None)
        learned = None
        if model is not None:
            texts = [f"{t} {a}".strip() for t, a in zip(titles, abstracts, strict=True)]
            learned = model.predict(self.vectorizer_.transform(texts))
        out = []
        for i, (title, abstract) in enumerate(zip(titles, abstracts, strict=True)):
            from_title, strong = rule_type(title, "")
            if from_title is not None and strong:
                out.append(from_title)
                continue
            from_text, strong = rule_type(title, abstract)
            if learned is not None and not (strong and from_text not in self.classes_):
                out.append(str(learned[i]))
            else:
                out.append(from_text or "other")
        return out
