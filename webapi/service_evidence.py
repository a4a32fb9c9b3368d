"""The service layer's study types and evidence map (part of ``Screenwise``).

Study types are filled in the import job (``classify_study_types``): from each record's own
metadata first, else ``classifier.studytype``'s text classifier, fitted on the project's
records whose metadata named a type. Requests only read them."""

from __future__ import annotations

import logging
from typing import Any

from classifier.studytype import (
    LABELS,
    STUDY_TYPES,
    StudyTypeClassifier,
    from_metadata,
    metadata_values,
)
from index.errors import ValidationError

from . import evidence_map as emap

log = logging.getLogger(__name__)

EVIDENCE_STAGES = ("auto", "title_abstract", "full_text")


class StudyTypeService:
    """Study types: the classifier pass, facets, corrections; the evidence map."""

    def classify_study_types(self, project: str | int, *, refit: bool = False) -> dict[str, int]:
        """Type every untyped record of a project: by its metadata when that names a type,
        else by the text classifier. ``refit`` also re-reads the records an earlier model
        typed (a reviewer's correction always stays). Returns counts per source."""
        target = self.project(project)
        inputs = self.store.typing_inputs(target.project_id)
        by_metadata, open_rows = [], []
        train_texts, train_types = [], []
        for row in inputs:
            kind = from_metadata(metadata_values(row["ref_type"], row["extra"]))
            if row["source"] is None and kind is not None:
                by_metadata.append((row["record_id"], kind, "metadata"))
            if kind is not None:
                train_texts.append(f"{row['title']} {row['abstract']}".strip())
                train_types.append(kind)
            elif row["source"] is None or (refit and row["source"] == "model"):
                open_rows.append(row)
        predicted = []
        if open_rows:
            model = StudyTypeClassifier().fit(train_texts, train_types)
            kinds = model.predict(
                [r["title"] for r in open_rows], [r["abstract"] for r in open_rows]
            )
            predicted = [
                (r["record_id"], k, "model") for r, k in zip(open_rows, kinds, strict=True)
            ]
        written = self.store.put_study_types(
            target.project_id, [*by_metadata, *predicted], replace_model=refit
        )
        return {"metadata": len(by_metadata), "model": len(predicted), "written": written}

    def type_new_records(self, project_id: int) -> None:
        """``classify_study_types`` inside a job: a failure there is logged and leaves the
        records untyped (the next embedding job or ``screenwise study-types`` types them),
        never failing the import whose records are stored."""
        try:
            self.classify_study_types(project_id)
        except Exception:  # study types must not stop screening
            log.exception("project %s: study types not assigned", project_id)

    def study_type_facets(self, project: str | int) -> list[dict[str, Any]]:
        """The project's records (duplicates left out) per study type, every type listed,
        then those not typed yet (an import still running) when there are any."""
        counts = self.store.study_type_counts(self.project(project).project_id)
        facets = [
            {"study_type": kind, "label": LABELS[kind], "records": counts.get(kind, 0)}
            for kind in STUDY_TYPES
        ]
        if counts.get(None):
            facets.append(
                {"study_type": emap.UNTYPED, "label": "Not typed yet", "records": counts[None]}
            )
        return facets

    def correct_study_type(
        self, project: str | int, record_id: int, study_type: str, *, actor: str
    ) -> dict[str, Any]:
        target = self.project(project)
        self.store.correct_study_type(target.project_id, record_id, study_type, actor=actor)
        return self.store.record(target.project_id, record_id)

    def evidence_map(
        self, project: str | int, *, by: str = "study_type", stage: str = "auto"
    ) -> dict[str, Any]:
        """Included records by theme and study type (``by="year"``: by year). Included: the
        final includes at ``stage``; ``auto`` takes full text once any record has a final
        full-text decision, else title/abstract. Themes are the final ones (imported, or of
        final records: what every member may see)."""
        if by not in emap.BY:
            raise ValidationError(f"by must be one of {', '.join(emap.BY)}", field="by")
        if stage not in EVIDENCE_STAGES:
            raise ValidationError(
                f"stage must be one of {', '.join(EVIDENCE_STAGES)}", field="stage"
            )
        target = self.project(project)
        pid = target.project_id
        if stage == "auto":
            stage = (
                "full_text" if self.store.final_decisions(pid, "full_text") else "title_abstract"
            )
        final = self.store.final_decisions(pid, stage)
        included = sorted(r for r, d in final.items() if d["label"] == "include")
        themes = self.store.current_themes(pid, final=True)
        if by == "study_type":
            typed = self.store.study_types(pid)
            columns = {r: (typed.get(r) or {}).get("study_type", emap.UNTYPED) for r in included}
        else:
            years = {r["record_id"]: r["year"] for r in self.store.records_by_id(pid, included)}
            columns = {r: str(years[r]) if years[r] else emap.NO_YEAR for r in included}
        return {"project": target.name, "project_id": pid} | emap.evidence_map(
            [t.name for t in target.themes], included, themes, columns, by=by, stage=stage
        )
