"""The evidence map (webapi/evidence_map.py, service_evidence.py, evidence.py, cli_evidence.py)
on real records: the Cohen drug-class theme set, some of its records included."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from classifier.studytype import STUDY_TYPES
from tests.conftest import DATA
from webapi import evidence_map as emap

THEMES = DATA / "themes" / "cohen_drug_classes.csv"
ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


@pytest.fixture
def themed(service, tmp_path):
    """A project of 120 real records of the theme set (its multi-theme rows among them), the
    file's themes imported with them, every third record excluded and the rest included.
    Returns the rows and what they should count."""
    with THEMES.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    multi = [r for r in rows if ";" in r["theme"]][:5]
    chosen = multi + [r for r in rows if ";" not in r["theme"]][::17][:115]
    path = tmp_path / "themed.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["record_id", "pmid", "title", "abstract", "themes", "label_included"])
        for i, row in enumerate(chosen):
            fields = [row[k] for k in ("record_id", "pmid", "title", "abstract", "theme")]
            writer.writerow([*fields, int(i % 3 != 2)])
    service.import_files("map", [path])
    included = [r for i, r in enumerate(chosen) if i % 3 != 2]
    per_theme = Counter(t.strip() for r in included for t in r["theme"].split(";"))
    return included, per_theme


def test_per_theme_counts_overlap_like_the_seed(service, themed):
    included, per_theme = themed
    data = service.evidence_map("map")
    assert data["stage"] == "title_abstract" and data["included"] == len(included)
    totals = {row["theme"]: row["total"] for row in data["rows"]}
    assert {t: n for t, n in totals.items() if n} == dict(per_theme)
    # Overlapping: the themes' counts add up to more than the records.
    assert sum(totals.values()) > data["included"]
    for row in data["rows"]:
        assert sum(row["counts"]) == row["total"]
        assert f"{row['theme']} n = {row['total']}" in data["theme_counts"]
    assert data["summary"].endswith(", overlapping")
    assert f"ADHD n = {per_theme['ADHD']}" in data["summary"]
    assert sum(data["column_totals"]) == data["included"]
    assert data["columns"] == list(STUDY_TYPES)


def test_columns_are_the_stored_types(service, themed):
    pid = service.project("map").project_id
    typed = service.store.study_types(pid)
    final = service.store.final_decisions(pid)
    included = [r for r, d in final.items() if d["label"] == "include"]
    expected = Counter(typed[r]["study_type"] for r in included)
    data = service.evidence_map("map")
    assert dict(zip(data["columns"], data["column_totals"], strict=True)) == {
        kind: expected.get(kind, 0) for kind in STUDY_TYPES
    }


def test_by_year_on_a_review_without_themes(service):
    service.import_files("adhd", [ADHD])
    with ADHD.open(encoding="utf-8", newline="") as f:
        years = Counter(
            r["year"] or emap.NO_YEAR for r in csv.DictReader(f) if r["label_included"] == "1"
        )
    data = service.evidence_map("adhd", by="year")
    assert [row["theme"] for row in data["rows"]] == [emap.NO_THEME]
    assert dict(zip(data["columns"], data["column_totals"], strict=True)) == dict(years)
    assert data["columns"][:-1] == sorted(data["columns"][:-1], key=int)


def test_full_text_includes_once_full_text_screening_started(service, themed):
    pid = service.project("map").project_id
    final = service.store.final_decisions(pid)
    first = min(r for r, d in final.items() if d["label"] == "include")
    service.decide("map", first, label="include", reviewer="ann", stage="full_text")
    data = service.evidence_map("map")
    assert data["stage"] == "full_text" and data["included"] == 1
    assert service.evidence_map("map", stage="title_abstract")["included"] > 1


def test_api_formats(client, themed):
    included, per_theme = themed
    data = client.get("/api/projects/map/evidence-map").get_json()
    assert data["included"] == len(included)
    response = client.get("/api/projects/map/evidence-map", query_string={"format": "csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["theme", *STUDY_TYPES, "total"]
    assert rows[-1][0] == "all included records" and int(rows[-1][-1]) == len(included)
    assert {r[0]: int(r[-1]) for r in rows[1:-1] if int(r[-1])} == dict(per_theme)
    svg = client.get("/api/projects/map/evidence-map", query_string={"format": "svg"})
    assert svg.mimetype == "image/svg+xml"
    texts = [
        "".join(t.itertext())
        for t in ET.fromstring(svg.get_data()).iter("{http://www.w3.org/2000/svg}text")
    ]
    assert f"ADHD (n = {per_theme['ADHD']})" in texts
    assert "Randomised trial" in " ".join(texts).replace("\n", " ")
    png = client.get("/api/projects/map/evidence-map", query_string={"format": "png", "by": "year"})
    assert png.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/projects/map/evidence-map?by=author").status_code == 400


def test_theme_names_are_drawn_as_typed():
    data = emap.evidence_map(
        ["$x$ costs"],
        [1, 2],
        {1: ["$x$ costs"]},
        {1: "rct", 2: "other"},
        by="study_type",
        stage="title_abstract",
    )
    svg = emap.render_svg(data)
    assert "$x$ costs (n = 1)" in svg
    assert emap.to_csv(data).splitlines()[1].startswith("$x$ costs,0,1,")


def test_cli(runner, themed, tmp_path):
    included, per_theme = themed
    table = runner(["evidence-map", "--project", "map"])
    assert table.exit_code == 0, table.output
    assert f"Included records (title/abstract): {len(included)}" in table.output
    assert f"ADHD n = {per_theme['ADHD']}" in table.output
    as_json = json.loads(runner(["evidence-map", "--project", "map", "--format", "json"]).output)
    assert as_json["included"] == len(included)
    out = tmp_path / "map.png"
    assert runner(["evidence-map", "--project", "map", "-o", str(out)]).exit_code == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    years = runner(["evidence-map", "--project", "map", "--by", "year", "--format", "csv"])
    assert years.output.startswith("theme,")
    typed = runner(["study-types", "--project", "map", "--json"])
    assert sum(f["records"] for f in json.loads(typed.output)["study_types"]) == 120
    fixed = runner(["study-type", "--project", "map", "1", "guideline"])
    assert fixed.exit_code == 0 and "guideline" in fixed.output
    assert runner(["evidence-map", "--project", "map", "--format", "png"]).exit_code != 0
