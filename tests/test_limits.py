"""The protocol's search limits on real exports: languages read from every format, records
flagged against the limits, the one action that excludes them, PRISMA's count of them, the
models that never learn from them, and a review update that ranks only the hits within."""

from __future__ import annotations

import pytest

from index.errors import ValidationError
from index.limits import AUTOMATION_REVIEWER, LIMITS_REASON, SearchLimits, checked_protocol
from index.limits import normalise_language as lang
from index.readers import read_records
from tests.conftest import DATA

IMPORT = DATA / "import"
PUBMED_XML = IMPORT / "asreview_demo_data_historic" / "pubmed.xml"
PUBMED_NBIB = IMPORT / "rendered" / "pubmed_xml_sample.nbib"
PTSD_RIS = IMPORT / "van_de_Schoot_2017" / "schoot-lgmm-ptsd-included-1.ris"
PTSD_CSV = IMPORT / "asreview_demo_data_historic" / "PTSD_VandeSchoot_18_debug.csv"
ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
# The seed review's limits: 1990 onwards, English.
SEED_LIMITS = {"search_string": "ptsd AND trajector*", "years_from": 1990, "languages": ["en"]}
# pubmed.xml: 8 English articles (2002-2019) and 2 Japanese ones, of 1985 and 1968.
JAPANESE = {"1985": "jpn", "1968": "jpn"}


def test_language_codes_are_normalised_to_iso_639_2():
    assert [lang(v) for v in ("English", "en", "ENG", "eng", " english. ")] == ["eng"] * 5
    assert lang("German") == lang("de") == lang("deu") == lang("ger") == "ger"
    assert lang("Français") == "fre"
    assert lang("und") is None and lang("") is None and lang("mul") is None
    assert lang("Klingon") is None
    assert lang("tlh") == "tlh"  # an ISO 639-2 code the table does not name is kept


@pytest.mark.parametrize(
    ("path", "languages"),
    [
        (PUBMED_XML, ["eng"] * 8 + ["jpn"] * 2),
        (PUBMED_NBIB, ["eng"] * 8 + ["jpn"] * 2),
    ],
)
def test_pubmed_readers_keep_the_language(path, languages):
    records = read_records(path)
    assert [r.extra["language"] for r in records] == languages
    assert [r.year for r in records if r.extra["language"] == "jpn"] == [1985, 1968]


def test_ris_and_csv_keep_the_language():
    ris = read_records(PTSD_RIS)
    assert {r.extra.get("language") for r in ris} == {None, "eng", "Eng"}
    assert sum("language" in r.extra for r in ris) == 60
    table = read_records(PTSD_CSV)
    known = [r for r in table if r.extra.get("language")]
    assert known and all(SearchLimits((None), None, ("eng",)).check(r.year, ["eng"]) for r in known)


def test_limits_verdicts_and_unknown_fields():
    limits = SearchLimits(1990, 2010, ("eng",))
    assert limits.check(1995, ["eng"]).status == "within"
    assert limits.check(1985, ["eng"]).reasons == ("published 1985, before 1990",)
    assert limits.check(2011, ["eng"]).status == "outside"
    assert limits.check(1995, ["jpn"]).reasons == ("language jpn, not eng",)
    assert limits.check(1995, ["jpn", "eng"]).status == "within"  # an English version counts
    unknown = limits.check(None, [])
    assert (unknown.status, unknown.unknown) == ("unknown", ("year", "language"))
    # A known field that breaks a limit makes the record outside, whatever else is unknown.
    assert limits.check(1970, []).status == "outside"
    assert SearchLimits().check(None, []).status == "within"


def test_protocol_validation_names_the_field():
    checked = checked_protocol(
        {
            "search_string": "adhd",
            "years_from": "1990",
            "languages": ["English", "en", "German"],
            "searches": [{"database": "MEDLINE", "string": "adhd[tiab]", "date": "2024-05-01"}],
        }
    )
    assert checked["years_from"] == 1990 and checked["languages"] == ["eng", "ger"]
    for bad, field in [
        ({"years_from": 1990, "years_to": 1980}, "protocol.years_to"),
        ({"years_from": 99}, "protocol.years_from"),
        ({"years_to": True}, "protocol.years_to"),
        ({"languages": ["English", "Klingon"]}, "protocol.languages[1]"),
        ({"searches": [{"database": "x", "date": "May 2024"}]}, "protocol.searches[0].date"),
        ({"limits": 1}, "protocol.limits"),
    ]:
        with pytest.raises(ValidationError) as error:
            checked_protocol(bad)
        assert error.value.field == field


def test_protocol_setting_through_the_api(client):
    created = client.post("/api/projects", json={"name": "ptsd", "protocol": SEED_LIMITS})
    assert created.status_code == 201
    protocol = created.get_json()["settings"]["protocol"]
    assert protocol["languages"] == ["eng"] and protocol["years_from"] == 1990
    bad = client.patch(
        "/api/projects/ptsd", json={"protocol": {"years_from": 2000, "years_to": 1995}}
    )
    assert bad.status_code == 400
    assert "years_from (2000) is after years_to (1995)" in bad.get_json()["detail"]
    assert bad.get_json()["errors"]["json"]["protocol"]["years_to"]
    bad = client.patch("/api/projects/ptsd", json={"protocol": {"languages": ["Elvish"]}})
    assert bad.status_code == 400 and "Elvish" in bad.get_json()["detail"]
    # PATCH merges settings: the exclusion reasons stay when the protocol changes.
    client.patch("/api/projects/ptsd", json={"exclusion_reasons": {"full_text": ["wrong design"]}})
    changed = client.patch(
        "/api/projects/ptsd", json={"protocol": SEED_LIMITS | {"years_to": 2016}}
    ).get_json()
    assert changed["settings"]["protocol"]["years_to"] == 2016
    assert changed["settings"]["exclusion_reasons"] == {"full_text": ["wrong design"]}
    cleared = client.patch("/api/projects/ptsd", json={"protocol": {}}).get_json()
    assert "protocol" not in cleared["settings"]


def _seed_project(client, service, files=(PUBMED_XML,), name="pm", **project):
    created = client.post("/api/projects", json={"name": name, "protocol": SEED_LIMITS, **project})
    assert created.status_code == 201
    return service.import_files(name, list(files), ignore_labels=True)


def test_import_flags_records_outside_the_limits(client, service):
    [summary] = _seed_project(client, service)
    assert (summary["added"], summary["outside_limits"], summary["unknown_limits"]) == (10, 2, 0)
    outside = client.get("/api/projects/pm/records", query_string={"limits": "outside"})
    items = outside.get_json()["items"]
    assert [r["year"] for r in items] == [1985, 1968]
    assert items[0]["search_limits"]["reasons"] == [
        "published 1985, before 1990",
        "language jpn, not eng",
    ]
    within = client.get("/api/projects/pm/records", query_string={"limits": "within"}).get_json()
    assert within["total"] == 8
    assert all(r["search_limits"]["status"] == "within" for r in within["items"])
    # SearchLimits follow the settings: widened to 1960 and any language, nothing is outside.
    client.patch("/api/projects/pm", json={"protocol": {"years_from": 1960}})
    assert client.get("/api/projects/pm/limits").get_json()["outside"] == 0


def test_records_without_year_or_language_are_unknown_not_outside(client, service):
    [summary] = _seed_project(client, service, files=(PTSD_RIS,), name="ris")
    report = client.get("/api/projects/ris/limits").get_json()
    # 355 unique records; 2 published before 1990 (1981, 1982), 295 without a language, one
    # without a year ("0000"): unknown, and left to the reviewers.
    assert report["records"] == 355
    assert (report["outside"], report["unknown"], report["within"]) == (2, 295, 58)
    assert report["unknown_year"] == 1 and report["unknown_language"] == 297
    assert summary["outside_limits"] == 2 and summary["unknown_limits"] == 295
    assert report["to_exclude"] == 2


def test_excluding_records_outside_the_limits(client, service, as_reviewer):
    _seed_project(client, service)
    pid = service.project("pm").project_id
    outside = client.get("/api/projects/pm/limits").get_json()["to_exclude_ids"]
    assert len(outside) == 2
    # A reviewer may not apply the limits; a maintainer (the administrator) may.
    bob = as_reviewer("bob", project="pm")
    assert bob.post("/api/projects/pm/limits/apply").status_code == 403
    queue = client.get("/api/projects/pm/queue", query_string={"n": 20}).get_json()
    assert set(outside) <= {item["record_id"] for item in queue["items"]}  # flagged, queued

    applied = client.post("/api/projects/pm/limits/apply").get_json()
    assert applied["excluded"] == 2 and applied["excluded_ids"] == outside
    again = client.post("/api/projects/pm/limits/apply").get_json()
    assert again["excluded"] == 0 and again["removed"] == 2  # idempotent

    decisions = service.store.decisions(pid)
    assert [(d["reviewer"], d["origin"], d["label"], d["reason"]) for d in decisions] == [
        (AUTOMATION_REVIEWER, "prior", "exclude", LIMITS_REASON)
    ] * 2
    events = [e for e in service.store.audit(pid) if e["action"] == "limits.apply"]
    assert len(events) == 1 and events[0]["actor"] == "ann"
    assert events[0]["detail"]["excluded_ids"] == outside

    queue = client.get("/api/projects/pm/queue", query_string={"n": 20}).get_json()
    assert not set(outside) & {item["record_id"] for item in queue["items"]}
    record = client.get(f"/api/projects/pm/records/{outside[0]}").get_json()
    assert record["decision"]["reason"] == LIMITS_REASON
    assert record["search_limits"]["status"] == "outside"

    # Removed before screening: not screened, not awaiting screening, not excluded by anyone.
    progress = client.get("/api/projects/pm/progress").get_json()
    assert progress["removed_outside_limits"] == 2
    assert (progress["screened"], progress["excluded"], progress["unscreened"]) == (0, 0, 8)
    prisma = client.get("/api/projects/pm/prisma").get_json()
    assert prisma["other_removed"] == 2 and prisma["automation_removed"] == 0
    assert prisma["other_removed_reasons"] == {LIMITS_REASON: 2}
    assert (prisma["screened"], prisma["screening_excluded"], prisma["awaiting_screening"]) == (
        0,
        0,
        8,
    )
    svg = client.get("/api/projects/pm/prisma", query_string={"format": "svg"}).get_data(True)
    assert "Records removed for other reasons (n = 2)" in svg
    assert "Records marked as ineligible" in svg and "by automation tools (n = 0)" in svg


def test_screened_records_keep_their_decisions_and_widened_limits_restore(client, service):
    _seed_project(client, service)
    first, second = client.get("/api/projects/pm/limits").get_json()["to_exclude_ids"]
    decided = client.post(
        f"/api/projects/pm/records/{first}/decisions", json={"label": "include", "reviewer": "ann"}
    )
    assert decided.status_code == 201
    report = client.get("/api/projects/pm/limits").get_json()
    assert report["screened_ids"] == [first] and report["to_exclude_ids"] == [second]
    applied = client.post("/api/projects/pm/limits/apply").get_json()
    assert applied["excluded_ids"] == [second] and applied["screened_ids"] == [first]
    assert client.get(f"/api/projects/pm/records/{first}").get_json()["decision"]["label"] == (
        "include"
    )
    # The protocol turns out to allow Japanese from 1960: the exclusion is withdrawn.
    client.patch(
        "/api/projects/pm", json={"protocol": {"years_from": 1960, "languages": ["en", "ja"]}}
    )
    assert client.get("/api/projects/pm/limits").get_json()["to_restore_ids"] == [second]
    restored = client.post("/api/projects/pm/limits/apply").get_json()
    assert restored["restored_ids"] == [second]
    assert client.get(f"/api/projects/pm/records/{second}").get_json()["decision"] is None
    assert client.get("/api/projects/pm/progress").get_json()["removed_outside_limits"] == 0


def test_double_screening_exclusion_is_final_and_can_be_withdrawn(client, service):
    _seed_project(client, service, mode="double")
    pid = service.project("pm").project_id
    applied = client.post("/api/projects/pm/limits/apply").get_json()
    states = service.store.states(pid)
    assert all(states[r].status == "final" for r in applied["excluded_ids"])
    client.patch("/api/projects/pm", json={"protocol": {}})
    restored = client.post("/api/projects/pm/limits/apply").get_json()
    assert restored["restored_ids"] == applied["excluded_ids"]
    states = service.store.states(pid)
    assert all(states[r].status == "unscreened" for r in applied["excluded_ids"])


def test_the_models_never_learn_from_limit_exclusions(client, service):
    service.import_files("adhd", [ADHD])  # with its labels: 851 prior decisions
    pid = service.project("adhd").project_id
    # The ADHD records have years (1993-2005; 24 none) but no language: 65 are before 1995.
    client.patch("/api/projects/adhd", json={"protocol": {"years_from": 1995}})
    report = service.store.limits_report(pid)
    assert (report["outside"], report["unknown"], report["to_exclude"]) == (65, 24, 0)
    assert report["screened"] == report["outside"]
    # Unlabelled, the outside records are excluded by the automation and learnt from by none.
    service.import_files("adhd2", [ADHD], ignore_labels=True)
    client.patch("/api/projects/adhd2", json={"protocol": {"years_from": 1995}})
    applied = client.post("/api/projects/adhd2/limits/apply").get_json()
    assert applied["excluded"] == report["outside"]
    within = client.get(
        "/api/projects/adhd2/records", query_string={"limits": "within", "limit": 2}
    ).get_json()["items"]
    for record, label in zip(within, ("include", "exclude"), strict=True):
        client.post(
            f"/api/projects/adhd2/records/{record['record_id']}/decisions",
            json={"label": label, "reviewer": "ann"},
        )
    ranking = service._ranking(service.project("adhd2").project_id)  # the service refits inline
    assert ranking.fitted.meta["labels"] == {"include": 1, "exclude": 1}
    assert ranking.screened.sum() == applied["excluded"] + 2  # out of the unscreened pool
    estimate = client.get("/api/projects/adhd2/progress").get_json()["estimate"]
    assert estimate["decisions"] == 2  # the estimate reads the reviewers' decisions only


def test_a_review_update_ranks_only_the_hits_within_the_limits(client, service):
    service.import_files("adhd", [ADHD])
    client.patch("/api/projects/adhd", json={"protocol": SEED_LIMITS})
    hits = read_records(PUBMED_NBIB)  # 8 English since 2002, 2 Japanese of 1985 and 1968
    posted = [
        {"title": r.title, "abstract": r.abstract, "year": r.year, "language": r.extra["language"]}
        for r in hits
    ]
    response = client.post("/api/projects/adhd/themes/candidates", json={"records": posted})
    assert response.status_code == 200
    ranked = response.get_json()
    assert len(ranked) == 10
    within, outside = ranked[:8], ranked[8:]
    assert all(c["score"] is not None and c["search_limits"]["status"] == "within" for c in within)
    assert [c["year"] for c in outside] == [1985, 1968]
    assert all(c["score"] is None and c["mode"] == "none" for c in outside)
    assert outside[0]["search_limits"]["reasons"] == [
        "published 1985, before 1990",
        "language jpn, not eng",
    ]


def test_the_command_line_sets_the_protocol_and_applies_the_limits(runner, service):
    service.import_files("pm", [PUBMED_XML])
    shown = runner(
        [
            "protocol",
            "set",
            "--project",
            "pm",
            "--search-string",
            "odontogenic AND tumor",
            "--search",
            "MEDLINE|2024-05-01|odontogenic[tiab]",
            "--years-from",
            "1990",
            "--language",
            "English",
        ]
    )
    assert shown.exit_code == 0, shown.output
    assert "languages: eng" in shown.output and "2 to exclude" in shown.output
    applied = runner(["limits", "apply", "--project", "pm", "--json"])
    assert applied.exit_code == 0 and '"excluded": 2' in applied.output
    again = runner(["limits", "apply", "--project", "pm"])
    assert again.output.startswith("0 records excluded")
    events = runner(["audit", "--project", "pm", "--json"]).output
    assert events.count('"limits.apply"') == 1
    bad = runner(["protocol", "set", "--project", "pm", "--language", "Elvish"])
    assert bad.exit_code == 1 and "Elvish" in bad.output
    assert runner(["protocol", "show", "--project", "pm"]).output.count("1990") == 1
    assert "2 removed before screening" in runner(["limits", "show", "--project", "pm"]).output
    assert "out of limits: 2 removed" in runner(["stats", "--project", "pm"]).output


def test_search_by_standing_against_the_limits(client, service):
    _seed_project(client, service)
    hits = client.get(
        "/api/projects/pm/search", query_string={"q": "odontogenic cyst", "limits": "outside"}
    ).get_json()
    assert sorted(h["year"] for h in hits) == [1968, 1985]
    within = client.get(
        "/api/projects/pm/search", query_string={"q": "odontogenic cyst", "limits": "within"}
    ).get_json()
    assert len(within) == 8 and all(h["year"] >= 1990 for h in within)
    bad = client.get("/api/projects/pm/search", query_string={"q": "x", "limits": "maybe"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "limits"


def test_an_exported_limit_exclusion_stays_one_when_imported_again(client, service, tmp_path):
    _seed_project(client, service)
    client.post("/api/projects/pm/limits/apply")
    exported = client.get("/api/projects/pm/export", query_string={"format": "csv"})
    path = tmp_path / "pm-screenwise.csv"
    path.write_bytes(exported.get_data())
    service.import_files("again", [path])
    stats = service.stats("again")
    assert (stats["removed_outside_limits"], stats["screened"], stats["excluded"]) == (2, 0, 0)
