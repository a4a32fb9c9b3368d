"""Where each record stands at a stage, derived from its decisions alone: no status is stored.

Single screening: the newest decision of any origin is the record's final one.

Blind double screening: each record needs two independent ``screen`` decisions by two different
reviewers. A reviewer's newest ``screen`` decision is their current one (they may change it until
the record is final). The record is

- ``unscreened``: no decision;
- ``pending``: one reviewer has decided;
- ``final``: the two reviewers' current decisions agree (include/include or exclude/exclude), or a
  ``resolution`` or ``prior`` (imported) decision exists, the newest of which is final;
- ``conflict``: two reviewers decided and disagree. ``maybe`` never agrees, not even with
  ``maybe``: a record two reviewers are unsure about goes to a resolver.

A retraction (label ``undecided``) withdraws the reviewer's current decision (in single
screening, the record's). A reviewer may change or retract their own decision until the record
is final; then only a resolution changes it, and a resolution needs a record in conflict or
final (``check_decision``). A third reviewer cannot decide a record two have decided.

Visibility (``visible``): nobody sees another reviewer's ``screen`` decision before both have
decided; then the two reviewers see each other's, resolvers see both while the record is in
conflict, and everyone sees everything once the record is final. Prior and resolution decisions
are final decisions and visible to every member.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConflictError

Status = Literal["unscreened", "pending", "conflict", "final"]
How = Literal["single", "agreed", "resolved", "prior"]
AGREEING = ("include", "exclude")
# A retraction: the reviewer (single screening: the record) has no current decision.
RETRACT = "undecided"


@dataclass(frozen=True)
class Viewer:
    """Who looks: their reviewer name and whether they resolve conflicts (resolver and up)."""

    name: str
    resolves: bool = False


@dataclass
class RecordState:
    """One record at one stage."""

    record_id: int
    status: Status = "unscreened"
    final: dict[str, Any] | None = None  # the decision row that made it final
    how: How | None = None
    current: dict[str, dict[str, Any]] = field(default_factory=dict)  # reviewer -> newest screen
    pair: tuple[dict[str, Any], dict[str, Any]] | None = None  # the two independent decisions

    @property
    def reviewers(self) -> list[str]:
        """Reviewers with a screen decision, in the order they first decided."""
        return list(self.current)

    def decided_by(self, reviewer: str) -> bool:
        return reviewer in self.current


def derive(decisions: Iterable[dict[str, Any]], mode: str) -> dict[int, RecordState]:
    """The state of every record that has a decision, from decision rows of one stage in
    ``decision_id`` order (rows need ``decision_id``, ``record_id``, ``label``, ``reviewer``,
    ``origin``)."""
    by_record: dict[int, list[dict[str, Any]]] = {}
    for decision in decisions:
        by_record.setdefault(int(decision["record_id"]), []).append(decision)
    return {rid: record_state(rid, rows, mode) for rid, rows in by_record.items()}


def record_state(record_id: int, rows: Sequence[dict[str, Any]], mode: str) -> RecordState:
    """The state of one record from its decisions at one stage, oldest first."""
    state = RecordState(record_id)
    if not rows:
        return state
    if mode != "double":
        for row in rows:
            if row["origin"] != "screen":
                continue
            if row["label"] == RETRACT:
                state.current.pop(row["reviewer"], None)
            else:
                state.current[row["reviewer"]] = row
        if rows[-1]["label"] != RETRACT:
            state.status, state.final, state.how = "final", rows[-1], "single"
        return state
    overriding: dict[str, Any] | None = None
    for row in rows:
        if row["origin"] in ("resolution", "prior"):
            # A prior retraction (the search limits' automation withdrawing its exclusion)
            # leaves the reviewers' own decisions to settle the record again.
            overriding = None if row["label"] == RETRACT else row
            continue
        reviewer = row["reviewer"]
        if row["label"] == RETRACT:
            state.current.pop(reviewer, None)
            continue
        if state.pair is None:
            others = [d for name, d in state.current.items() if name != reviewer]
            if others:
                state.pair = (others[0], row)  # the second reviewer's first decision
        state.current[reviewer] = row
    if overriding is not None:
        state.status, state.final = "final", overriding
        state.how = "prior" if overriding["origin"] == "prior" else "resolved"
        return state
    if not state.current:
        return state
    if len(state.current) == 1:
        state.status = "pending"
        return state
    first, second = (state.current[r] for r in state.reviewers[:2])
    if first["label"] == second["label"] and first["label"] in AGREEING:
        state.status, state.how = "final", "agreed"
        state.final = max(first, second, key=lambda d: d["decision_id"])
    else:
        state.status = "conflict"
    return state


def check_decision(
    state: RecordState, mode: str, reviewer: str, origin: str, stage: str
) -> dict[str, Any] | None:
    """Whether ``reviewer`` may add a decision of ``origin`` to a record in ``state``: the
    decision the new one replaces (single screening: the record's current one; double: the
    reviewer's own), or ``ConflictError`` where the rules refuse it (module docstring)."""
    rid = state.record_id
    if origin == "resolution":
        if mode == "double" and state.status not in ("conflict", "final"):
            raise ConflictError(
                f"record {rid} is {state.status} at {stage}: a resolution needs two decisions"
                " that disagree, or a final record to change"
            )
        return None
    if mode != "double":
        return state.final
    if state.status == "final":
        raise ConflictError(
            f"record {rid} is final at {stage} ({state.how}); only a resolver can change it now"
        )
    if not state.decided_by(reviewer) and len(state.current) >= 2:
        raise ConflictError(f"record {rid} already has two independent {stage} decisions")
    return state.current.get(reviewer)


def can_see(decision: dict[str, Any], state: RecordState, viewer: Viewer | None) -> bool:
    """Whether ``viewer`` (``None``: unrestricted) may see ``decision`` of a double-screened
    record in ``state``."""
    if viewer is None or decision["origin"] != "screen" or decision["reviewer"] == viewer.name:
        return True
    if len(state.current) < 2:
        return False  # the other reviewer has not decided yet
    return state.status == "final" or state.decided_by(viewer.name) or viewer.resolves


def visible_current(
    states: dict[int, RecordState], mode: str, viewer: Viewer | None
) -> dict[int, dict[str, Any]]:
    """The decision ``viewer`` sees as each record's current one: the final decision, else (in
    double screening) the viewer's own current decision."""
    out: dict[int, dict[str, Any]] = {}
    for record_id, state in states.items():
        if state.final is not None:
            out[record_id] = state.final
        elif mode == "double" and viewer is not None and viewer.name in state.current:
            out[record_id] = state.current[viewer.name]
    return out


def closed_for(states: dict[int, RecordState], mode: str, reviewer: str | None) -> set[int]:
    """Records a reviewer's queue never offers: final ones, those they decided, and (double
    screening) those two others have decided already."""
    closed = set()
    for record_id, state in states.items():
        if (
            state.status == "final"
            or (reviewer is not None and state.decided_by(reviewer))
            or (mode == "double" and len(state.current) >= 2)
        ):
            closed.add(record_id)
    return closed


def agreement(states: Iterable[RecordState]) -> dict[str, Any]:
    """Percent agreement and Cohen's kappa over the records with two independent decisions.

    The pair is the first reviewer's decision as it stood when the second reviewer decided,
    and the second reviewer's first decision: what each decided before seeing the other's.
    Rater A is whoever decided first. Kappa is ``None`` with no pairs, and 1.0 when both
    raters used one and the same label throughout (no disagreement possible to measure).
    """
    pairs = [(s.pair[0]["label"], s.pair[1]["label"]) for s in states if s.pair is not None]
    agreed = sum(a == b for a, b in pairs)
    return {
        "pairs": len(pairs),
        "agreed": agreed,
        "percent_agreement": round(100.0 * agreed / len(pairs), 2) if pairs else None,
        "kappa": cohen_kappa(pairs),
    }


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels, ``(kappa_o - kappa_e) / (1 - kappa_e)``."""
    if not pairs:
        return None
    n = len(pairs)
    labels = sorted({label for pair in pairs for label in pair})
    observed = sum(a == b for a, b in pairs) / n
    expected = sum(
        (sum(a == label for a, _ in pairs) / n) * (sum(b == label for _, b in pairs) / n)
        for label in labels
    )
    if expected == 1.0:
        return 1.0
    return round((observed - expected) / (1.0 - expected), 6)
