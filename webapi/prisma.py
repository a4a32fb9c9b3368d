"""The PRISMA 2020 flow diagram (new reviews, databases and registers) drawn from real counts.

One matplotlib figure renders both SVG and PNG, so the two always agree. SVG text stays text
(``svg.fonttype = none``): the numbers in the file can be read back and checked.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NOT_RETRIEVED = "report not retrieved"
FIGURE_WIDTH = 9.6  # inches
FONT_SIZE = 11  # points
PRINT_DPI = 300


@dataclass(frozen=True)
class PrismaCounts:
    """The figures of a PRISMA 2020 flow diagram."""

    sources: tuple[tuple[str, int], ...]
    duplicates_removed: int
    screened: int
    screening_excluded: int
    awaiting_screening: int = 0
    screening_maybe: int = 0
    sought_for_retrieval: int = 0
    not_retrieved: int = 0
    assessed: int = 0
    fulltext_excluded: dict[str, int] = field(default_factory=dict)
    awaiting_full_text: int = 0
    included: int = 0
    # Removed before screening besides duplicates (PRISMA 2020): records marked ineligible by
    # automation tools (a classifier's verdict; screenwise removes none so) and records
    # removed for other reasons (outside the protocol's search limits: ``index.limits``).
    automation_removed: int = 0
    other_removed: int = 0
    other_removed_reason: str = "outside search limits"

    @property
    def identified(self) -> int:
        return sum(n for _, n in self.sources)


def _lines(counts: PrismaCounts) -> dict[str, list[str]]:
    sources = [f"{_short(name)} (n = {n})" for name, n in counts.sources] or [
        "no source file (n = 0)"
    ]
    excluded_reasons = [
        f"{reason or 'no reason given'} (n = {n})"
        for reason, n in sorted(counts.fulltext_excluded.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    screened_excluded = [f"Records excluded (n = {counts.screening_excluded})"]
    if counts.screening_maybe:
        screened_excluded.append(f"Marked maybe, to decide (n = {counts.screening_maybe})")
    if counts.awaiting_screening:
        screened_excluded.append(f"Awaiting screening (n = {counts.awaiting_screening})")
    assessed_excluded = [
        f"Reports excluded (n = {sum(counts.fulltext_excluded.values())}):",
        *excluded_reasons,
    ]
    if counts.awaiting_full_text:
        assessed_excluded.append(f"Awaiting assessment (n = {counts.awaiting_full_text})")
    return {
        "identified": [f"Records identified (n = {counts.identified}):", *sources],
        "removed": [
            "Records removed before screening:",
            f"Duplicate records removed (n = {counts.duplicates_removed})",
            # Two lines, as the template breaks it: one would overflow the box.
            "Records marked as ineligible",
            f"by automation tools (n = {counts.automation_removed})",
            f"Records removed for other reasons (n = {counts.other_removed})",
            *(
                [f"  {counts.other_removed_reason} (n = {counts.other_removed})"]
                if counts.other_removed
                else []
            ),
        ],
        "screened": [f"Records screened (n = {counts.screened})"],
        "screened_excluded": screened_excluded,
        "sought": [f"Reports sought for retrieval (n = {counts.sought_for_retrieval})"],
        "not_retrieved": [f"Reports not retrieved (n = {counts.not_retrieved})"],
        "assessed": [f"Reports assessed for eligibility (n = {counts.assessed})"],
        "assessed_excluded": assessed_excluded,
        "included": [f"Studies included in review (n = {counts.included})"],
    }


def _short(name: str, limit: int = 36) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _figure(counts: PrismaCounts) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    text = _lines(counts)
    line_h = 0.32
    rows = [
        ("identified", "removed"),
        ("screened", "screened_excluded"),
        ("sought", "not_retrieved"),
        ("assessed", "assessed_excluded"),
        ("included", None),
    ]
    heights = [
        max(len(text[left]), len(text[right]) if right else 0) * line_h + 0.35
        for left, right in rows
    ]
    # Identification and Included each span one row: room for their rotated labels.
    heights[0] = max(heights[0], 1.6)
    heights[-1] = max(heights[-1], 1.2)
    gap = 0.45
    total = sum(heights) + gap * (len(rows) + 1)
    # 9.6 in wide with 11 pt text: shown at the page's width (about 820 px) the text is about
    # 13 px, and a PNG at print resolution (300 dpi) is 2,880 px wide.
    fig = Figure(figsize=(FIGURE_WIDTH, total * 0.62 + 0.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 11.2)
    ax.set_ylim(0, total)
    ax.axis("off")
    left_x, right_x, box_w = 1.0, 6.4, 4.6
    tops, y = [], total - gap
    for height in heights:
        tops.append(y)
        y -= height + gap
    boxes: dict[str, tuple[float, float, float]] = {}

    def box(key: str, x: float, top: float, height: float) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, top - height),
                box_w,
                height,
                boxstyle="round,pad=0.02",
                facecolor="white",
                edgecolor="#333333",
                linewidth=1.2,
            )
        )
        for i, line in enumerate(text[key]):
            ax.text(
                x + 0.15,
                top - 0.28 - i * line_h,
                line,
                fontsize=FONT_SIZE,
                va="center",
                family="DejaVu Sans",
                gid=f"prisma-{key}-{i}",
                # Exclusion reasons are user text: '$x$' is drawn as typed, never as math.
                parse_math=False,
            )
        boxes[key] = (x, top, height)

    for (left, right), top, height in zip(rows, tops, heights, strict=True):
        box(left, left_x, top, height)
        if right:
            box(right, right_x, top, height)
            ax.annotate(
                "",
                xy=(right_x, top - height / 2),
                xytext=(left_x + box_w, top - height / 2),
                arrowprops={"arrowstyle": "->", "color": "#333333"},
            )
    for (left, _), (below, _) in itertools.pairwise(rows):
        x, top, height = boxes[left]
        ax.annotate(
            "",
            xy=(x + box_w / 2, boxes[below][1]),
            xytext=(x + box_w / 2, top - height),
            arrowprops={"arrowstyle": "->", "color": "#333333"},
        )
    phases = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4)]
    for label, first, last in phases:
        top = tops[first]
        bottom = tops[last] - heights[last]
        ax.add_patch(
            FancyBboxPatch(
                (0.15, bottom),
                0.55,
                top - bottom,
                boxstyle="round,pad=0.02",
                facecolor="#dbe7f3",
                edgecolor="#6b8fb5",
            )
        )
        ax.text(
            0.425,
            (top + bottom) / 2,
            label,
            rotation=90,
            ha="center",
            va="center",
            fontsize=FONT_SIZE,
            fontweight="bold",
        )
    return fig


def render_svg(counts: PrismaCounts) -> str:
    """The diagram as an SVG document whose text is real text."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "screenwise"}):
        buffer = io.StringIO()
        _figure(counts).savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def render_png(counts: PrismaCounts, dpi: int = PRINT_DPI) -> bytes:
    """The diagram as a PNG image, at print resolution by default."""
    buffer = io.BytesIO()
    _figure(counts).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
