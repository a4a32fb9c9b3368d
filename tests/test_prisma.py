import re
import xml.etree.ElementTree as ET

from tests.conftest import DATA
from webapi.prisma import PrismaCounts, render_png, render_svg

COUNTS = PrismaCounts(
    sources=(("medline.ris", 4200), ("psycinfo.ris", 2100), ("a" * 80 + ".ris", 1106)),
    duplicates_removed=1250,
    screened=6156,
    screening_excluded=5100,
    sought_for_retrieval=1056,
    not_retrieved=12,
    assessed=1044,
    fulltext_excluded={"wrong population": 200, "wrong study design": 181},
    included=663,
)


def svg_lines(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def n_of(lines: list[str], prefix: str) -> int:
    [line] = [line for line in lines if line.startswith(prefix)]
    return int(re.search(r"\(n = (\d+)\)", line).group(1))


def test_svg_numbers_equal_the_counts():
    lines = svg_lines(render_svg(COUNTS))
    assert n_of(lines, "Records identified") == 7406
    assert n_of(lines, "medline.ris") == 4200
    assert n_of(lines, "Duplicate records removed") == 1250
    assert n_of(lines, "Records screened") == 6156
    assert n_of(lines, "Records excluded") == 5100
    assert n_of(lines, "Reports sought for retrieval") == 1056
    assert n_of(lines, "Reports not retrieved") == 12
    assert n_of(lines, "Reports assessed for eligibility") == 1044
    assert n_of(lines, "Reports excluded") == 381
    assert n_of(lines, "wrong population") == 200
    assert n_of(lines, "Studies included in review") == 663
    assert any(line.startswith("a" * 35 + "…") for line in lines)  # fits its box


def test_png_is_an_image():
    assert render_png(COUNTS)[:8] == b"\x89PNG\r\n\x1a\n"


# -- from a project's real decisions, through the API and the CLI -----------------------------

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
PTSD = DATA / "import" / "van_de_Schoot_2017"
FT_REASONS = ["wrong population", "wrong outcome", "report not retrieved"]


def independent_counts(service, project_id):
    """The PRISMA figures straight from the tables: the newest decision per record and stage
    (single screening), full text counted only for records included at title/abstract."""
    store = service.store
    [(identified, duplicates)] = store._query(
        "SELECT count(*), count(duplicate_of) FROM records WHERE project_id = ?", (project_id,)
    )
    latest = {}
    for row in store._query(
        "SELECT stage, record_id, label, reason FROM decisions WHERE project_id = ?"
        " ORDER BY decision_id",
        (project_id,),
    ):
        latest[(row[0], row[1])] = (row[2], row[3])
    title = {rid: v for (stage, rid), v in latest.items() if stage == "title_abstract"}
    sought = {rid for rid, (label, _) in title.items() if label == "include"}
    full = {rid: v for (stage, rid), v in latest.items() if stage == "full_text" and rid in sought}
    excluded = sum(label == "exclude" for label, _ in title.values())
    maybe = sum(label == "maybe" for label, _ in title.values())
    reasons = {}
    for label, reason in full.values():
        if label == "exclude":
            reasons[reason] = reasons.get(reason, 0) + 1
    not_retrieved = reasons.pop("report not retrieved", 0)
    sources = dict(
        store._query("SELECT filename, read FROM files WHERE project_id = ?", (project_id,))
    )
    return {
        "Records identified": identified,
        **{name: n for name, n in sources.items()},
        "Duplicate records removed": duplicates,
        "Records screened": len(sought) + excluded + maybe,  # as progress counts them
        "Records excluded": excluded,
        "Marked maybe": maybe,
        "Reports sought for retrieval": len(sought),
        "Reports not retrieved": not_retrieved,
        "Reports assessed for eligibility": len(full) - not_retrieved,
        "Reports excluded": sum(reasons.values()),
        **reasons,
        "Studies included in review": sum(label == "include" for label, _ in full.values()),
    }


def test_the_svg_of_a_real_project_shows_its_counts(client, service, runner, tmp_path):
    created = client.post(
        "/api/projects",
        json={"name": "pr", "exclusion_reasons": {"full_text": FT_REASONS}},
    )
    assert created.status_code == 201
    service.import_files(
        "pr",
        [ADHD, PTSD / "schoot-lgmm-ptsd-included-2.ris", PTSD / "schoot-lgmm-ptsd-included-3.ris"],
        ignore_labels=True,
    )
    pid = created.get_json()["project_id"]
    ids = [
        r["record_id"]
        for r in client.get("/api/projects/pr/records", query_string={"limit": 60}).get_json()[
            "items"
        ]
    ]

    def decide(record_id, label, **fields):
        response = client.post(
            f"/api/projects/pr/records/{record_id}/decisions",
            json={"label": label, "reviewer": "ann", **fields},
        )
        assert response.status_code == 201, response.get_json()

    for record_id in ids[:14]:
        decide(record_id, "include")
    for number, record_id in enumerate(ids[14:40]):
        decide(record_id, "exclude", reason=["adults", ""][number % 2])
    decide(ids[40], "maybe")
    full_text = [
        "include",
        "include",
        "include",
        "include",
        "include",
        ("exclude", "wrong population"),
        ("exclude", "wrong population"),
        ("exclude", "wrong outcome"),
        ("exclude", "report not retrieved"),
        "include",
    ]
    for record_id, outcome in zip(ids[:10], full_text, strict=True):
        label, reason = (outcome, "") if isinstance(outcome, str) else outcome
        decide(record_id, label, stage="full_text", reason=reason)
    decide(ids[0], "exclude", stage="full_text", reason="wrong outcome")  # a change
    decide(ids[9], "exclude")  # excluded at title/abstract after all: out of full text

    expected = independent_counts(service, pid)
    assert expected["Records identified"] == 851 + 38 + 8 and expected["Reports not retrieved"] == 1
    counts = client.get("/api/projects/pr/prisma").get_json()
    assert counts["identified"] == expected["Records identified"]
    assert counts["included"] == expected["Studies included in review"] == 4
    svg = client.get("/api/projects/pr/prisma", query_string={"format": "svg"})
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    png = client.get("/api/projects/pr/prisma", query_string={"format": "png"})
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    output = tmp_path / "flow.svg"
    result = runner(["prisma", "--project", "pr", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert runner(["prisma", "--project", "pr", "-o", str(tmp_path / "f.png")]).exit_code == 0
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    for text in (svg.get_data(as_text=True), output.read_text()):
        lines = svg_lines(text)
        for prefix, n in expected.items():
            if prefix == "report not retrieved":
                continue  # shown as its own box, "Reports not retrieved"
            assert n_of(lines, prefix) == n, prefix
