"""The evidence map: included records counted by theme against study type (or year), as a
dict, CSV, a plain-text table and a heat map (SVG whose text is text, or PNG).

A record with several themes is counted under each (the per-theme counts overlap, as a
scoping review reports them: "role n = 188, training n = 33, ... (overlapping)"); records
with no theme make a row of their own, "(no theme)"."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from classifier.studytype import LABELS, STUDY_TYPES

NO_THEME = "(no theme)"
UNTYPED = "untyped"
NO_YEAR = "no year"
BY = ("study_type", "year")


def evidence_map(
    theme_names: Sequence[str],
    included: Sequence[int],
    themes: dict[int, list[str]],
    columns_of: dict[int, str],
    *,
    by: str,
    stage: str,
) -> dict[str, Any]:
    """Counts of the ``included`` records per theme (``theme_names`` in order, then any
    theme a record carries that the project no longer lists, then ``NO_THEME``) and column
    (``columns_of[record_id]``: a study type, ``UNTYPED``, a year or ``NO_YEAR``)."""
    if by == "study_type":
        columns = list(STUDY_TYPES)
        extra = sorted({columns_of[r] for r in included} - set(columns))
        columns += extra
        labels = [LABELS.get(c, c.capitalize()) for c in columns]
    else:
        years = sorted({columns_of[r] for r in included} - {NO_YEAR}, key=int)
        columns = years + ([NO_YEAR] if NO_YEAR in {columns_of[r] for r in included} else [])
        labels = list(columns)
    rows_order = list(theme_names)
    rows_order += sorted({t for r in included for t in themes.get(r, [])} - set(rows_order))
    counts = {name: dict.fromkeys(columns, 0) for name in [*rows_order, NO_THEME]}
    for record_id in included:
        column = columns_of[record_id]
        for theme in themes.get(record_id) or [NO_THEME]:
            counts[theme][column] += 1
    rows = [
        {
            "theme": name,
            "counts": [counts[name][c] for c in columns],
            "total": sum(counts[name].values()),
        }
        for name in [*rows_order, NO_THEME]
        if name != NO_THEME or sum(counts[name].values())
    ]
    column_totals = dict.fromkeys(columns, 0)
    for record_id in included:
        column_totals[columns_of[record_id]] += 1
    return {
        "by": by,
        "stage": stage,
        "included": len(included),
        "columns": columns,
        "column_labels": labels,
        "rows": rows,
        "column_totals": [column_totals[c] for c in columns],
        "theme_counts": [f"{row['theme']} n = {row['total']}" for row in rows],
        "summary": _summary(rows),
    }


def _summary(rows: list[dict[str, Any]]) -> str:
    """The per-theme counts as a review reports them: "role n = 188, ... (overlapping)"."""
    parts = [f"{row['theme']} n = {row['total']}" for row in rows if row["theme"] != NO_THEME]
    return ", ".join(parts) + (", overlapping" if parts else "")


def to_csv(data: dict[str, Any]) -> str:
    """One row per theme, one column per study type (or year), then the theme's total; a
    last row of column totals (each record once)."""
    from .writers import csv_safe

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["theme", *data["columns"], "total"])
    for row in data["rows"]:
        writer.writerow([csv_safe(row["theme"]), *row["counts"], row["total"]])
    writer.writerow(["all included records", *data["column_totals"], data["included"]])
    return out.getvalue()


def to_table(data: dict[str, Any]) -> str:
    """A plain-text table for the terminal, then the per-theme line."""
    headers = ["theme", *data["column_labels"], "total"]
    body = [[row["theme"], *map(str, row["counts"]), str(row["total"])] for row in data["rows"]]
    body.append(["all included records", *map(str, data["column_totals"]), str(data["included"])])
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    stage = data["stage"].replace("_", "/")
    lines = [f"Included records ({stage}): {data['included']}", line(headers)]
    lines += [line(r) for r in body]
    lines.append("")
    lines.append(data["summary"])
    return "\n".join(lines) + "\n"


def _figure(data: dict[str, Any]):
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    rows = data["rows"]
    matrix = np.array([row["counts"] for row in rows] or [[0] * len(data["columns"])], float)
    n_rows, n_cols = matrix.shape
    # Study types get wide cells for their labels; years (a column each, perhaps decades of
    # them) narrow ones, with smaller counts, so that the figure stays a page wide or so.
    cell = 1.15 if data["by"] == "study_type" else 0.55
    cell_font = 10 if cell > 1 or n_cols <= 30 else 8
    width = max(6.0, 2.8 + cell * n_cols)
    height = max(2.6, 1.6 + 0.48 * n_rows)
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.26, 0.32 if data["by"] == "study_type" else 0.2, 0.62, 0.58))
    # cividis: perceptually uniform and readable with colour-vision deficiencies.
    cmap = colormaps["cividis"]
    top = max(float(matrix.max()), 1.0)
    image = ax.imshow(matrix, cmap=cmap, vmin=0, vmax=top, aspect="auto")
    ax.set_xticks(range(n_cols))
    ax.set_xticklabels(
        [_wrap(label) for label in data["column_labels"]],
        fontsize=9,
        rotation=0 if data["by"] == "study_type" else 45,
        ha="center" if data["by"] == "study_type" else "right",
        parse_math=False,
    )
    ax.set_yticks(range(n_rows))
    # Theme names are user text: '$x$' is drawn as typed, never as math.
    ax.set_yticklabels(
        [f"{row['theme']} (n = {row['total']})" for row in rows], fontsize=10, parse_math=False
    )
    for i in range(n_rows):
        for j in range(n_cols):
            value = matrix[i, j]
            # Dark text on the light end of the map, white on the dark end.
            colour = "black" if value / top > 0.55 else "white"
            ax.text(
                j,
                i,
                f"{int(value)}",
                ha="center",
                va="center",
                color=colour,
                fontsize=cell_font,
                gid=f"cell-{i}-{j}",
            )
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    by = "study type" if data["by"] == "study_type" else "year"
    stage = data["stage"].replace("_", "/")
    ax.set_title(
        f"Included records ({stage}, n = {data['included']}) by theme and {by}",
        fontsize=11,
        loc="left",
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("records", fontsize=9)
    return fig


def _wrap(label: str, width: int = 14) -> str:
    words, lines, current = label.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return "\n".join([*lines, current])


def render_svg(data: dict[str, Any]) -> str:
    """The heat map as SVG; its labels and counts are text."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "screenwise"}):
        buffer = io.StringIO()
        _figure(data).savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def render_png(data: dict[str, Any], dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    _figure(data).savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
