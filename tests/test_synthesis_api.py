"""Theme discovery and representative picks over the API (webapi/synthesis.py): proposals
for a project's included records, accepted (renamed, merged, dropped) by a maintainer as
themes whose records are suggestions, picks per theme with reasons, the final selection in
the counts and the export. Real records from the Cohen drug-class theme set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from classifier.picks import is_review
from index.records import embedding_text
from tests.test_discovery import theme_rows

FOUR = ("Triptans", "ADHD", "Estrogens", "Antihistamines")


@pytest.fixture
def project(client, service, tmp_path: Path) -> dict:
    """Project ``syn``: 50 included records of four drug-class reviews (12 each and the
    first two reviews among them) and 8 excluded ones from a fifth, imported with their
    labels."""
    included = theme_rows(FOUR, per_theme=12)
    later = [r for r in theme_rows(FOUR, per_theme=1000) if r not in included]
    reviews = is_review([embedding_text(r["title"], r["abstract"]) for r in later])
    included += [r for r, review in zip(later, reviews, strict=True) if review][:2]
    excluded = theme_rows(("Opiods",), per_theme=8)
    path = tmp_path / "syn.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "pmid", "label_included"])
        for rows, label in ((included, 1), (excluded, 0)):
            for row in rows:
                writer.writerow([row["title"], row["abstract"], row["pmid"], label])
    assert client.post("/api/projects", json={"name": "syn"}).status_code == 201
    service.import_files("syn", [path])
    return {"included": included, "excluded": excluded}


def test_proposals_accept_rename_merge(client, service, project, as_reviewer):
    got = client.get("/api/projects/syn/themes/proposals")
    assert got.status_code == 200, got.get_json()
    found = got.get_json()
    assert found["filter"] == "included" and found["records"] == 50
    assert found["k"] == len(found["proposals"]) >= 2
    assert sum(p["size"] for p in found["proposals"]) == 50
    excluded_titles = {r["title"] for r in project["excluded"]}
    for p in found["proposals"]:
        assert p["terms"] and p["name"] and 1 <= len(p["titles"]) <= 5
        assert not {t["title"] for t in p["titles"]} & excluded_titles
    # Every reviewer sees the proposals; only a maintainer accepts them.
    bob = as_reviewer("bob", project="syn")
    assert bob.get("/api/projects/syn/themes/proposals").get_json()["key"] == found["key"]
    refused = bob.post(
        "/api/projects/syn/themes/proposals",
        json={"key": found["key"], "themes": [{"proposals": [0]}]},
    )
    assert refused.status_code == 403

    first, second = found["proposals"][0], found["proposals"][1]
    accepted = client.post(
        "/api/projects/syn/themes/proposals",
        json={
            "key": found["key"],
            "themes": [
                {"proposals": [first["proposal_id"]]},  # as proposed
                {"proposals": [second["proposal_id"], *range(2, found["k"])], "name": "Rest"},
            ],
        },
    )
    assert accepted.status_code == 201, accepted.get_json()
    body = accepted.get_json()
    assert [t["name"] for t in body["themes"]] == [first["name"], "Rest"]
    assert body["themes"][0]["description"] == first["description"]
    assert body["themes"][0]["suggested"] >= first["size"]
    assert sum(t["suggested"] for t in body["themes"]) >= 50
    assert [t["name"] for t in body["project"]["themes"]] == [first["name"], "Rest"]
    pid = body["project"]["project_id"]
    # Suggestions, not labels: nobody's theme labels changed, the page shows them dashed.
    assert service.store.current_themes(pid) == {}
    member = first["titles"][0]["record_id"]
    themes = client.get(f"/api/projects/syn/records/{member}/themes").get_json()
    suggested = {t["theme"]: t for t in themes["themes"] if t["suggested"]}
    assert suggested[first["name"]]["discovered"] is True and themes["labelled"] is None
    assert [e["action"] for e in service.store.audit(pid)].count("theme.discover") == 2

    # A name taken, a proposal twice or unknown, a stale key: refused, nothing stored.
    again = {"key": found["key"], "themes": [{"proposals": [0], "name": "Rest"}]}
    assert client.post("/api/projects/syn/themes/proposals", json=again).status_code == 409
    twice = {"key": found["key"], "themes": [{"proposals": [0]}, {"proposals": [0]}]}
    assert client.post("/api/projects/syn/themes/proposals", json=twice).status_code == 400
    unknown = {"key": found["key"], "themes": [{"proposals": [99], "name": "X"}]}
    bad = client.post("/api/projects/syn/themes/proposals", json=unknown)
    assert bad.status_code == 400 and "99" in bad.get_json()["detail"]
    control = {"key": found["key"], "themes": [{"proposals": [0], "name": "A\nB"}]}
    assert client.post("/api/projects/syn/themes/proposals", json=control).status_code == 400
    stale = {"key": "0" * 16, "themes": [{"proposals": [0], "name": "X"}]}
    assert client.post("/api/projects/syn/themes/proposals", json=stale).status_code == 409
    assert len(service.project("syn").themes) == 2


def test_picks_selection_counts_and_export(client, service, project):
    found = client.get("/api/projects/syn/themes/proposals").get_json()
    client.post(
        "/api/projects/syn/themes/proposals",
        json={"key": found["key"], "themes": [{"proposals": [0], "name": "Main"}]},
    )
    picks = client.get("/api/projects/syn/picks?n=4").get_json()
    assert [p["theme"] for p in picks] == ["Main"]
    main = picks[0]
    assert main["members"] >= found["proposals"][0]["size"] and len(main["picks"]) == 4
    assert [p["order"] for p in main["picks"]] == [1, 2, 3, 4]
    assert "central to the theme" in main["picks"][0]["reason"]
    assert "nearest pick (#" in main["picks"][1]["reason"]
    assert not any(p["selected"] for p in main["picks"]) and main["selected"] == []

    chosen = main["picks"][0]["record_id"]
    marked = client.put(
        f"/api/projects/syn/picks/selection/{chosen}?theme=Main",
        json={"reason": main["picks"][0]["reason"]},
    )
    assert marked.status_code == 200, marked.get_json()
    assert marked.get_json()["selected"] == 1
    assert marked.get_json()["themes"] == [
        {"theme": "Main", "selected": 1, "reviews": int(main["picks"][0]["review"])}
    ]
    again = client.get("/api/projects/syn/picks?theme=Main&n=4").get_json()[0]
    assert again["picks"][0]["selected"] and again["selected"][0]["record_id"] == chosen
    assert again["selected"][0]["picked_by"] == "ann"

    exported = client.get("/api/projects/syn/export?format=csv")
    rows = list(csv.DictReader(exported.get_data(as_text=True).splitlines()))
    by_id = {int(r["record_id"]): r for r in rows}
    assert by_id[chosen]["selected_for"] == "Main"
    assert sum(1 for r in rows if r["selected_for"]) == 1

    assert client.get("/api/projects/syn/picks/selection").get_json()["selected"] == 1
    gone = client.delete(f"/api/projects/syn/picks/selection/{chosen}?theme=Main")
    assert gone.status_code == 200 and gone.get_json()["selected"] == 0
    missing = client.delete(f"/api/projects/syn/picks/selection/{chosen}?theme=Main")
    assert missing.status_code == 404
    assert client.get("/api/projects/syn/picks?theme=Nope").status_code == 404
    nothing = client.put("/api/projects/syn/picks/selection/1?theme=Nope", json={})
    assert nothing.status_code == 404


def test_reviews_first_over_the_api(client, project):
    found = client.get("/api/projects/syn/themes/proposals").get_json()
    client.post(
        "/api/projects/syn/themes/proposals",
        json={"key": found["key"], "themes": [{"proposals": list(range(found["k"]))}]},
    )
    plain = client.get("/api/projects/syn/picks?n=6").get_json()[0]
    first = client.get("/api/projects/syn/picks?n=6&reviews_first=true").get_json()[0]
    assert first["reviews"] >= 1
    flags = [p["review"] for p in first["picks"]]
    assert flags[0] and flags == sorted(flags, reverse=True)
    assert "reviews first" in first["picks"][0]["reason"]
    assert plain["members"] == first["members"] == 50


def test_limits_and_bad_filters(client, service, project, monkeypatch):
    import webapi.service_synthesis as synthesis

    bad = client.get("/api/projects/syn/themes/proposals?filter=maybe")
    assert bad.status_code in (400, 422)
    few = client.get("/api/projects/syn/themes/proposals?filter=excluded")
    assert few.status_code == 200  # 8 excluded records: just enough
    monkeypatch.setattr(synthesis, "MAX_DISCOVERY_RECORDS", 20)
    big = client.get("/api/projects/syn/themes/proposals?filter=all")
    assert big.status_code == 413 and "narrower filter" in big.get_json()["detail"]
    monkeypatch.setattr(synthesis, "MIN_RECORDS", 10)
    small = client.get("/api/projects/syn/themes/proposals?filter=excluded")
    assert small.status_code == 400 and "at least 10" in small.get_json()["detail"]


def test_command_line(runner, service, project):
    shown = runner(["theme", "discover", "--project", "syn"])
    assert shown.exit_code == 0, shown.output
    assert "proposed themes in 50 included records" in shown.output and "terms:" in shown.output
    accepted = runner(["theme", "discover", "--project", "syn", "--accept", "0:Main"])
    assert accepted.exit_code == 0, accepted.output
    assert "theme 'Main' added with" in accepted.output
    bad = runner(["theme", "discover", "--project", "syn", "--accept", "x:Y"])
    assert bad.exit_code != 0 and "proposal ids are numbers" in bad.output

    listed = runner(["picks", "show", "--project", "syn", "-n", "3", "--json"])
    [main] = json.loads(listed.output)
    chosen = [p["record_id"] for p in main["picks"][:2]]
    selected = runner(["picks", "select", "--project", "syn", "--theme", "Main", *map(str, chosen)])
    assert selected.exit_code == 0 and "2 records selected" in selected.output
    counts = runner(["picks", "counts", "--project", "syn"])
    assert "Main: 2 selected" in counts.output
    text = runner(["picks", "show", "--project", "syn", "-n", "3"]).output
    assert text.startswith("Main: ") and " *1. " in text and "central to the theme" in text
    gone = runner(["picks", "unselect", "--project", "syn", "--theme", "Main", str(chosen[0])])
    assert "1 records selected" in gone.output
    missing = runner(["picks", "unselect", "--project", "syn", "--theme", "Main", str(chosen[0])])
    assert missing.exit_code == 1 and "not selected" in missing.output


def test_full_text_stage(client, service, project):
    ids = [r["record_id"] for r in service.records("syn", status="included", limit=100)["items"]]
    for record_id in ids[:8]:
        made = client.post(
            f"/api/projects/syn/records/{record_id}/decisions",
            json={"label": "include", "reviewer": "ann", "stage": "full_text"},
        )
        assert made.status_code == 201, made.get_json()
    found = client.get("/api/projects/syn/themes/proposals?stage=full_text").get_json()
    assert found["stage"] == "full_text" and found["records"] == 8
    titles = {t["record_id"] for p in found["proposals"] for t in p["titles"]}
    assert titles <= set(ids[:8])
    accepted = client.post(
        "/api/projects/syn/themes/proposals",
        json={"key": found["key"], "stage": "full_text", "themes": [{"proposals": [0]}]},
    )
    assert accepted.status_code == 201
    # The key belongs to the stage: the title/abstract proposals' key is another.
    stale = {"key": found["key"], "themes": [{"proposals": [1], "name": "X"}]}
    assert client.post("/api/projects/syn/themes/proposals", json=stale).status_code == 409
    [picks] = client.get("/api/projects/syn/picks?stage=full_text").get_json()
    assert {p["record_id"] for p in picks["picks"]} <= set(ids[:8])


def test_ris_export_names_the_selection_and_reads_back_clean(client, project, tmp_path):
    from index.readers import read_records

    found = client.get("/api/projects/syn/themes/proposals").get_json()
    client.post(
        "/api/projects/syn/themes/proposals",
        json={"key": found["key"], "themes": [{"proposals": [0], "name": "Main"}]},
    )
    chosen = found["proposals"][0]["titles"][0]["record_id"]
    client.put(f"/api/projects/syn/picks/selection/{chosen}?theme=Main", json={})
    ris = client.get("/api/projects/syn/export?format=ris").get_data(as_text=True)
    assert ris.count("N1  - screenwise selected for: Main") == 1
    path = tmp_path / "back.ris"
    path.write_text(ris, encoding="utf-8")
    records = read_records(path)
    assert len(records) == 58 and not any("selected for" in r.notes for r in records)


def test_sub_themes_within_a_theme(client, service, project, runner):
    found = client.get("/api/projects/syn/themes/proposals").get_json()
    biggest = found["proposals"][0]
    client.post(
        "/api/projects/syn/themes/proposals",
        json={"key": found["key"], "themes": [{"proposals": [0], "name": "Main"}]},
    )
    inner = client.get("/api/projects/syn/themes/proposals?theme=Main")
    assert inner.status_code == 200, inner.get_json()
    body = inner.get_json()
    assert body["theme"] == "Main" and biggest["size"] <= body["records"] < 50
    assert body["key"] != found["key"]
    accepted = client.post(
        "/api/projects/syn/themes/proposals",
        json={"key": body["key"], "theme": "Main", "themes": [{"proposals": [0], "name": "Sub"}]},
    )
    assert accepted.status_code == 201
    assert client.get("/api/projects/syn/themes/proposals?theme=Nope").status_code == 404
    shown = runner(["theme", "discover", "--project", "syn", "--theme", "Main"])
    assert shown.exit_code == 0 and f"in {body['records']} included records" in shown.output
