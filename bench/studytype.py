"""Study type (``classifier.studytype``): how much the metadata maps, and how well the text
classifier reads the type when the metadata is hidden.

    python -m bench.studytype [--data DIR] [--folds 2]

Prints markdown tables:

1. **Metadata coverage** on every importer fixture under ``import/``: records, and how many
   get a type from their own metadata (PubMed publication types, RIS ``TY``/``M3``), per type.
2. **Hidden PubMed publication types**: every record of the data that carries PubMed
   publication types (MEDLINE ``PT``, PubMed XML ``PublicationType``) and whose types map
   to a study type: the types are hidden, the type predicted from title and abstract (rules
   only: too few to train a model on), and compared. The shared data holds only a handful
   of such records, which the table says.
3. **Silver standard on the Cohen 2006 sets** (12,724 MEDLINE records of 13 drug-class
   reviews, ``screening/Cohen_2006_*.csv``): their export kept the MeSH headings but not the
   publication types, so a record's type is taken from its design headings (``SILVER``:
   "Meta-Analysis as Topic" a review; "Double-Blind Method", "Single-Blind Method", "Random
   Allocation" a randomised trial; "Practice Guidelines as Topic" a guideline; "Interviews as
   Topic", "Focus Groups" qualitative; cohort, case-control, cross-sectional, prospective,
   retrospective, follow-up, longitudinal, survey, cross-over, pilot headings another
   quantitative study; none: left out). The headings are hidden too (the classifier reads only
   title and abstract). Per-class precision, recall and support, and accuracy, for the rules
   alone and for rules plus the model fitted on the other folds' silver-labelled records (the
   model's route for a project whose records carry publication types). A silver standard:
   headings describe a study less exactly than publication types do.
4. **Reviews of a tertiary study**: the 45 records that Kitchenham et al. (2010), a tertiary
   study, included are systematic literature reviews (a real label of the design): how many
   the text classifier reads as reviews (recall), and the types it gives the 1,659 records it
   excluded (which hold reviews out of its scope too, so no precision is claimed).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import default_data_dir, markdown_table
from classifier.studytype import (
    STUDY_TYPES,
    StudyTypeClassifier,
    from_metadata,
    metadata_values,
)

SILVER = {
    "review": ("Meta-Analysis as Topic", "Review Literature as Topic"),
    "guideline": ("Practice Guidelines as Topic", "Guidelines as Topic", "Health Policy"),
    "rct": ("Double-Blind Method", "Single-Blind Method", "Random Allocation"),
    "qualitative": ("Interviews as Topic", "Focus Groups", "Qualitative Research"),
    "quantitative": (
        "Cohort Studies",
        "Case-Control Studies",
        "Cross-Sectional Studies",
        "Surveys and Questionnaires",
        "Prospective Studies",
        "Retrospective Studies",
        "Follow-Up Studies",
        "Longitudinal Studies",
        "Cross-Over Studies",
        "Pilot Projects",
    ),
}


def silver_type(keywords: list[str]) -> str | None:
    present = set(keywords)
    return next((kind for kind, heads in SILVER.items() if present & set(heads)), None)


def per_class(truth: list[str], predicted: list[str]) -> list[list[object]]:
    rows = []
    for kind in STUDY_TYPES:
        tp = sum(t == kind and p == kind for t, p in zip(truth, predicted, strict=True))
        n_pred = sum(p == kind for p in predicted)
        support = sum(t == kind for t in truth)
        precision = f"{tp / n_pred:.3f}" if n_pred else "—"
        recall = f"{tp / support:.3f}" if support else "—"
        rows.append([kind, precision, recall, support, n_pred])
    accuracy = np.mean([t == p for t, p in zip(truth, predicted, strict=True)])
    rows.append(["**accuracy**", "", f"{accuracy:.3f}", len(truth), len(predicted)])
    return rows


def coverage(data: Path) -> None:
    from index import read_records

    rows = []
    totals: Counter = Counter()
    pubmed = []
    for path in sorted((data / "import").rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            records = read_records(path)
        except Exception:
            continue
        found = Counter(from_metadata(metadata_values(r.ref_type, r.extra)) for r in records)
        mapped = len(records) - found[None]
        totals["records"] += len(records)
        totals["mapped"] += mapped
        if mapped:
            kinds = ", ".join(f"{k} {n}" for k, n in found.most_common() if k)
            rows.append([str(path.relative_to(data)), len(records), mapped, kinds])
        pubmed += [r for r in records if r.extra.get("publication_types")]
    rows.append(["**all import fixtures**", totals["records"], totals["mapped"], ""])
    print("### Metadata coverage (files where some record maps)\n")
    print(markdown_table(["file", "records", "typed by metadata", "types"], rows))
    typed = [
        (r, t) for r in pubmed if (t := from_metadata(r.extra["publication_types"].split("; ")))
    ]
    print(
        f"\n### Hidden PubMed publication types\n\n{len(pubmed)} records carry PubMed "
        f"publication types; {len(typed)} of them map to a study type."
    )
    if typed:
        predicted = (
            StudyTypeClassifier()
            .fit([], [])
            .predict([r.title for r, _ in typed], [r.abstract for r, _ in typed])
        )
        headers = ["type", "precision", "recall", "support", "predicted"]
        print(markdown_table(headers, per_class([t for _, t in typed], predicted)))


def cohen_silver(data: Path, folds: int) -> None:
    titles, abstracts, truth = [], [], []
    for path in sorted((data / "screening").glob("Cohen_2006_*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                kind = silver_type(row["keywords"].split("; "))
                if kind:
                    titles.append(row["title"])
                    abstracts.append(row["abstract"])
                    truth.append(kind)
    print(f"\n### Silver standard: Cohen 2006 MeSH design headings ({len(truth)} records)\n")
    if not truth:
        print("no Cohen_2006 files under", data / "screening")
        return
    rules = StudyTypeClassifier().fit([], []).predict(titles, abstracts)
    headers = ["type", "precision", "recall", "support", "predicted"]
    print("Rules only:\n")
    print(markdown_table(headers, per_class(truth, rules)))
    rng = np.random.default_rng(0)
    fold_of = rng.integers(0, folds, len(truth))
    combined = [""] * len(truth)
    texts = [f"{t} {a}" for t, a in zip(titles, abstracts, strict=True)]
    for fold in range(folds):
        train = np.flatnonzero(fold_of != fold)
        test = np.flatnonzero(fold_of == fold)
        model = StudyTypeClassifier().fit([texts[i] for i in train], [truth[i] for i in train])
        out = model.predict([titles[i] for i in test], [abstracts[i] for i in test])
        for i, kind in zip(test, out, strict=True):
            combined[i] = kind
    print(f"\nRules + model fitted on the other folds ({folds}-fold):\n")
    print(markdown_table(headers, per_class(truth, combined)))


def kitchenham(data: Path) -> None:
    path = data / "screening" / "Kitchenham_2010.csv"
    if not path.is_file():
        return
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    predicted = (
        StudyTypeClassifier()
        .fit([], [])
        .predict([r["title"] for r in rows], [r["abstract"] for r in rows])
    )
    included = Counter(
        p for r, p in zip(rows, predicted, strict=True) if r["label_included"] == "1"
    )
    excluded = Counter(
        p for r, p in zip(rows, predicted, strict=True) if r["label_included"] == "0"
    )
    n = sum(included.values())
    print(f"\n### Kitchenham 2010: the {n} systematic reviews a tertiary study included\n")
    print(f"Read as reviews: {included['review']} of {n} (recall {included['review'] / n:.3f}).\n")
    headers = ["type", "included (reviews)", "excluded"]
    print(markdown_table(headers, [[k, included[k], excluded[k]] for k in STUDY_TYPES]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    coverage(args.data)
    cohen_silver(args.data, args.folds)
    kitchenham(args.data)


if __name__ == "__main__":
    main()
