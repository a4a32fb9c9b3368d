"""Regression tests for the hardening findings (issue 12): one section per finding.

1. blind double screening keeps theme labels blind (export, progress, model);
2. user text in the PRISMA diagram is drawn as text, never as mathtext;
3. bad ids, names, headers and files answer 4xx, never 500;
4. a reader never drops a record silently;
5. field sizes are bounded;
6. health, file modes, throttling, log redaction, nosniff, token owners, 500 bodies;
7. the CSV export round-trips and the RIS export is valid RIS.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import stat

import pytest

from index import read_records
from index.errors import FieldTooLargeError, ImportFormatError
from tests.conftest import DATA
from tests.test_api import failed_import, imported
from webapi.prisma import PrismaCounts, render_png, render_svg

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
P = "/api/projects/dbl"


# -- 1. theme labels follow their decision's visibility ---------------------------------------


@pytest.fixture
def blind(client, as_reviewer, service):
    """A double-screening project with theme 'stimulants'; alice has included record ``x``
    with that theme, nobody else has decided it. Returns (alice, bob, x)."""
    response = client.post(
        "/api/projects", json={"name": "dbl", "mode": "double", "themes": ["stimulants"]}
    )
    assert response.status_code == 201
    service.import_files("dbl", [ADHD], ignore_labels=True)
    alice = as_reviewer("alice", project="dbl")
    bob = as_reviewer("bob", project="dbl")
    x = client.get(f"{P}/records").get_json()["items"][0]["record_id"]
    response = alice.post(
        f"{P}/records/{x}/decisions",
        json={"label": "include", "reviewer": "alice", "themes": ["stimulants"]},
    )
    assert response.status_code == 201
    return alice, bob, x


def _theme_count(client) -> int:
    [theme] = client.get(f"{P}/progress").get_json()["themes"]
    return theme["labelled"]


def test_a_pending_records_themes_stay_out_of_export_progress_and_model(client, blind):
    alice, bob, x = blind
    rows = list(csv.DictReader(io.StringIO(client.get(f"{P}/export").get_data(as_text=True))))
    assert all(row["themes"] == "" for row in rows)
    ris = client.get(f"{P}/export", query_string={"format": "ris"}).get_data(as_text=True)
    assert "screenwise themes" not in ris
    assert _theme_count(bob) == 0
    assert _theme_count(alice) == 1  # her own label, which she may see
    model = bob.get(f"{P}/model").get_json()
    assert model["current"]["theme_labelled"] == 0
    assert model["current"]["theme_mode"] == "zero-shot"

    # Once bob agrees, the record is final and its themes are everyone's.
    response = bob.post(f"{P}/records/{x}/decisions", json={"label": "include", "reviewer": "bob"})
    assert response.status_code == 201
    rows = list(csv.DictReader(io.StringIO(client.get(f"{P}/export").get_data(as_text=True))))
    assert [row["themes"] for row in rows if row["record_id"] == str(x)] == ["stimulants"]
    assert _theme_count(bob) == 1
    assert bob.get(f"{P}/model").get_json()["current"]["theme_labelled"] == 1


# -- 2. PRISMA draws user text as text ---------------------------------------------------------

MATH = PrismaCounts(
    sources=(("a.ris", 10),),
    duplicates_removed=0,
    screened=10,
    screening_excluded=5,
    sought_for_retrieval=5,
    not_retrieved=0,
    assessed=5,
    fulltext_excluded={"$\\x$": 1, "price $x^2$": 2},
    included=2,
)


def test_prisma_draws_dollar_signs_literally():
    svg = render_svg(MATH)
    assert "price $x^2$ (n = 2)" in svg
    assert "$\\x$ (n = 1)" in svg
    assert render_png(MATH)[:4] == b"\x89PNG"


# -- 3. no 500 for odd ids, names and requests -------------------------------------------------


@pytest.fixture
def project(client, service):
    assert client.post("/api/projects", json={"name": "p"}).status_code == 201
    service.import_files("p", [ADHD], ignore_labels=True)
    return "/api/projects/p"


def test_ids_beyond_sqlite_answer_4xx(client, project):
    huge = 2**63
    assert client.get(f"{project}/records/{huge}").status_code == 404
    assert client.get(f"{project}/records/{2**70}/decisions").status_code == 404
    assert client.delete(f"/api/tokens/{huge}").status_code == 404
    assert client.get(f"/api/projects/{huge}").status_code == 404
    response = client.post(f"{project}/themes/records", json={"record_ids": [huge]})
    assert response.status_code == 400
    record = client.get(f"{project}/records", query_string={"limit": 1}).get_json()["items"][0]
    response = client.post(
        f"{project}/records/{record['record_id']}/decisions",
        json={"label": "include", "supersedes": huge},
    )
    assert response.status_code == 400
    assert client.get(f"{project}/records", query_string={"offset": huge}).status_code == 400


def test_unicode_digits_are_not_project_ids(client, project):
    assert client.get("/api/projects/%C2%B9").status_code == 404
    assert client.get("/api/projects/%D9%A1/records").status_code == 404


@pytest.mark.parametrize("name", ["a\u0000b", "\n", " ", "tab\there", "\x7f"])
def test_reviewer_names_with_control_characters_are_refused(client, name):
    response = client.post("/api/reviewers", json={"name": name})
    assert response.status_code == 400
    assert response.get_json()["field"] == "name"


def test_405_names_the_allowed_methods(client):
    response = client.patch("/api/health")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    assert response.mimetype == "application/problem+json"


def test_a_token_post_needs_a_body(client):
    response = client.post("/api/reviewers/ann/tokens")
    assert response.status_code == 400
    assert client.post("/api/reviewers/ann/tokens", json={}).status_code == 201


def test_an_upload_name_over_255_bytes_is_refused(client, project):
    name = "é" * 130 + ".ris"  # 264 bytes
    response = client.post(
        f"{project}/records",
        data={"files": (io.BytesIO(b"TY  - JOUR\nTI  - x\nER  - \n"), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "files"


# -- 6. smaller findings -------------------------------------------------------------------------


def test_health_says_only_status_without_a_token(anon, client, service):
    assert anon.get("/api/health").get_json() == {"status": "ok"}
    bad = anon.get("/api/health", headers={"Authorization": "Bearer sw_nope"})
    assert bad.get_json() == {"status": "ok"}
    full = client.get("/api/health").get_json()
    assert full["home"] == str(service.home) and "projects" in full


def test_the_store_is_private(tmp_path):
    from index.store import Store

    store = Store(tmp_path / "fresh" / "screenwise.db")
    store.create_reviewer("x")
    assert stat.S_IMODE(os.stat(tmp_path / "fresh").st_mode) == 0o700
    for path in (tmp_path / "fresh").iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name
    store.close()


def test_failed_authentications_are_throttled(service, admin_token):
    from tests.conftest import authenticated
    from webapi import create_app

    app = create_app(
        {"TESTING": True, "HOME": str(service.home), "SCREENWISE_SERVICE": service}
        | {"AUTH_FAILURES": 3, "AUTH_WINDOW": 60}
    )
    guesser = app.test_client()
    for _ in range(3):
        assert guesser.get("/api/me", headers={"Authorization": "Bearer sw_x"}).status_code == 401
    response = guesser.get("/api/me", headers={"Authorization": "Bearer sw_x"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    # The address is locked out, whatever token it sends now; other addresses are not.
    assert authenticated(app, admin_token).get("/api/me").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    response = elsewhere.get("/api/me", headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200
    # A missing token guesses nothing and is not counted.
    assert elsewhere.get("/api/me").status_code == 401


def test_the_access_log_redacts_tokens(caplog):
    from webapi.server import AccessLog

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/me",
        "QUERY_STRING": "token=sw_secret1&q=adhd&x=Bearer%20sw_secret2&api_key=k3y",
        "REMOTE_ADDR": "127.0.0.1",
    }
    with caplog.at_level(logging.INFO, logger="screenwise.access"):
        assert b"".join(AccessLog(app)(environ, lambda *a: None)) == b"ok"
    [line] = [r.getMessage() for r in caplog.records]
    assert "secret" not in line and "k3y" not in line
    assert "q=adhd" in line and "[redacted]" in line


def test_responses_say_nosniff(anon, client, project):
    assert anon.get("/api/health").headers["X-Content-Type-Options"] == "nosniff"
    svg = client.get(f"{project}/prisma", query_string={"format": "svg"})
    assert svg.mimetype == "image/svg+xml"
    assert svg.headers["X-Content-Type-Options"] == "nosniff"


def test_a_403_on_a_token_does_not_name_its_owner(client, as_reviewer):
    as_reviewer("rita")
    otto = as_reviewer("otto")
    [token] = client.get("/api/reviewers/rita/tokens").get_json()
    response = otto.delete(f"/api/tokens/{token['token_id']}")
    assert response.status_code == 403
    assert "rita" not in response.get_data(as_text=True)


def test_a_500_names_no_server_path(service):
    from classifier.artifacts import ArtifactError
    from webapi import create_app

    app = create_app({"TESTING": False, "HOME": str(service.home), "SCREENWISE_SERVICE": service})

    def broken():
        raise ArtifactError(f"{service.home}/models/project-1/relevance.npz is corrupt")

    app.add_url_rule("/boom", view_func=broken)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert str(service.home) not in response.get_data(as_text=True)


# -- 3 (readers). odd files are refused by name and line, never a 500 ---------------------------

PUBMED_XML = DATA / "import" / "asreview_demo_data_historic" / "pubmed.xml"
RIS_TWO = (
    "TY  - JOUR\nTI  - First title\nAB  - First abstract\nER  - \n\n"
    "TY  - JOUR\nTI  - Second title\nAB  - Second abstract\nER  - \n"
)


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_a_csv_header_over_128_kib_is_refused_by_line(tmp_path):
    path = write(tmp_path, "wide.csv", "title," + "x" * (140 * 1024) + "\nA title,1\n")
    with pytest.raises(ImportFormatError, match=r"^wide\.csv, line 1: .*header"):
        read_records(path)


def test_a_quoted_csv_header_over_128_kib_answers_400_through_the_api(client, project):
    content = b'"' + b"x" * (140 * 1024) + b'"\nA title\n'
    response = client.post(
        f"{project}/records",
        data={"files": (io.BytesIO(content), "wide.csv")},
        content_type="multipart/form-data",
    )
    # The upload's own check of the first line (the header-line limit) answers first.
    assert response.status_code == 422
    assert response.get_json()["detail"].startswith("wide.csv, line 1")


def test_list_cells_are_parsed_never_evaluated(tmp_path):
    nested = "[" * 30_000 + "]" * 30_000  # ast.literal_eval: MemoryError / RecursionError
    rows = f'title,authors\nA,"{nested}"\nB,"[\'Liu, R.\', \'O\\\'Brien, J.\']"\nC,"[1, 2]"\n'
    records = read_records(write(tmp_path, "lists.csv", rows))
    assert [r.title for r in records] == ["A", "B", "C"]
    assert records[1].authors == ["Liu, R.", "O'Brien, J."]


def test_pubmed_xml_with_a_commented_article_reads_the_others(tmp_path):
    text = PUBMED_XML.read_text(encoding="utf-8")
    first = text.index("<PubmedArticle>")
    commented = text[:first] + "<!-- <PubmedArticle>old</PubmedArticle> -->\n" + text[first:]
    records = read_records(write(tmp_path, "commented.xml", commented))
    assert len(records) == 10
    assert records[0].line == read_records(PUBMED_XML)[0].line + 1


def test_pubmed_xml_with_a_nested_article_is_refused_by_line(tmp_path):
    text = PUBMED_XML.read_text(encoding="utf-8")
    at = text.index("<MedlineCitation")
    nested = text[:at] + "<PubmedArticle></PubmedArticle>" + text[at:]
    with pytest.raises(ImportFormatError, match=r"^nested\.xml, line \d+: PubmedArticle inside"):
        read_records(write(tmp_path, "nested.xml", nested))


def test_a_mistyped_bibtex_entry_is_not_skipped(tmp_path):
    text = "@article{a,\n title={One}\n}\n\n@article b,\n title={Two}\n}\n"
    with pytest.raises(ImportFormatError, match=r"^typo\.bib, line \d+"):
        read_records(write(tmp_path, "typo.bib", text))


# -- 4. no record is dropped silently ----------------------------------------------------------


@pytest.mark.parametrize(
    "second",
    [" TY  - JOUR", "\ufeffTY  - JOUR", "\t TY  - JOUR"],
    ids=["leading space", "stray BOM", "tab"],
)
def test_an_indented_or_bom_prefixed_ty_line_keeps_its_record(tmp_path, second):
    text = RIS_TWO.replace("\nTY  - JOUR\nTI  - Second", f"\n{second}\nTI  - Second")
    records = read_records(write(tmp_path, "two.ris", text))
    assert [r.title for r in records] == ["First title", "Second title"]


def test_a_record_without_its_ty_line_refuses_the_file(tmp_path):
    text = RIS_TWO.replace("\nTY  - JOUR\nTI  - Second", "\nTX  - JOUR\nTI  - Second")
    with pytest.raises(ImportFormatError, match=r"^two\.ris, line 7: RIS tag 'TI' outside"):
        read_records(write(tmp_path, "two.ris", text))


def test_the_api_refuses_rather_than_half_imports(client, project, service):
    before = service.store.stats(service.project("p").project_id)
    text = RIS_TWO.replace("\nTY  - JOUR\nTI  - Second", "\nTX  - JOUR\nTI  - Second")
    response = client.post(
        f"{project}/records",
        data={"files": (io.BytesIO(text.encode()), "two.ris")},
        content_type="multipart/form-data",
    )
    # The upload's job fails naming the file and line, and stores nothing.
    assert failed_import(response)["error"].startswith("two.ris, line 7")
    assert service.store.stats(service.project("p").project_id) == before


# -- 5. field sizes are bounded ------------------------------------------------------------------


def test_a_huge_abstract_is_refused_naming_file_line_and_field(tmp_path):
    text = RIS_TWO.replace("Second abstract", "x" * 200_000)
    with pytest.raises(FieldTooLargeError, match=r"^big\.ris, line 6, field 'abstract'"):
        read_records(write(tmp_path, "big.ris", text))
    # The limit is a parameter.
    assert len(read_records(tmp_path / "big.ris", max_field_chars=300_000)) == 2


def test_a_huge_field_fails_the_import_through_the_api(client, project):
    text = RIS_TWO.replace("Second abstract", "x" * 10_000_000)
    response = client.post(
        f"{project}/records",
        data={"files": (io.BytesIO(text.encode()), "big.ris")},
        content_type="multipart/form-data",
    )
    # Read in the upload's job: the job fails naming file, line and field.
    assert failed_import(response)["error"].startswith("big.ris, line 6, field 'abstract'")


# -- 7. the export round-trips ---------------------------------------------------------------

ROUND = (
    "title,abstract,pmid,authors\n"
    '"=1+1 trial",An abstract,11111111,"Liu, R."\n'
    '"-5 mg arm",Another abstract,22222222,"@handle"\n'
    "Plain title,Third abstract,33333333,\n"
    "Fourth title,Fourth abstract,,\n"
)


def test_the_csv_export_restores_decisions_notes_maybes_and_themes(client, tmp_path):
    source = write(tmp_path, "round.csv", ROUND)
    created = client.post("/api/projects", json={"name": "one", "themes": ["dose"]})
    assert created.status_code == 201
    with source.open("rb") as stream:
        response = client.post(
            "/api/projects/one/records",
            data={"files": (stream, "round.csv")},
            content_type="multipart/form-data",
        )
    imported(response)
    records = client.get("/api/projects/one/records").get_json()["items"]
    wanted = [
        {"label": "include", "reason": "", "note": "+keep", "themes": ["dose"]},
        {"label": "exclude", "reason": "wrong population", "note": "", "themes": []},
        {"label": "maybe", "reason": "", "note": "ask Bob", "themes": ["dose"]},
    ]
    for record, decision in zip(records, wanted, strict=False):
        response = client.post(
            f"/api/projects/one/records/{record['record_id']}/decisions",
            json={"reviewer": "ann", **decision},
        )
        assert response.status_code == 201, response.get_json()
    export = client.get("/api/projects/one/export").get_data()
    assert b"'=1+1 trial" in export  # quoted for spreadsheets

    assert client.post("/api/projects", json={"name": "two"}).status_code == 201
    response = client.post(
        "/api/projects/two/records",
        data={"files": (io.BytesIO(export), "one-screenwise.csv")},
        content_type="multipart/form-data",
    )
    imported(response)
    again = {r["source_id"]: r for r in client.get("/api/projects/two/records").get_json()["items"]}
    for record, decision in zip(records, [*wanted, None], strict=True):
        twin = again[record["source_id"]]
        assert twin["title"] == record["title"]
        assert twin["authors"] == record["authors"]
        if decision is None:
            assert twin["decision"] is None
            continue
        got = twin["decision"]
        assert (got["label"], got["reason"], got["note"]) == (
            decision["label"],
            decision["reason"],
            decision["note"],
        )
        assert twin["themes"] == decision["themes"]


def test_a_quote_stays_in_a_csv_screenwise_did_not_write(tmp_path):
    path = write(tmp_path, "other.csv", "title,abstract\n'=not ours,text\n")
    assert read_records(path)[0].title == "'=not ours"


def test_the_ris_export_is_plain_ris_with_the_pmid_in_an(client, project, tmp_path):
    text = client.get(f"{project}/export", query_string={"format": "ris"}).get_data(as_text=True)
    lines = [line for line in text.split("\n") if line.strip()]
    assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line + " ") for line in lines), [
        line for line in lines if not re.match(r"^[A-Z][A-Z0-9]  - ", line + " ")
    ][:3]
    assert "\nAN  - " in text and "\nDB  - PubMed" in text and "\nPM  - " not in text
    records = read_records(write(tmp_path, "again.ris", text))
    assert len(records) == 851
    assert all(r.pmid for r in records if r.extra.get("database") == "PubMed")
    assert sum(bool(r.pmid) for r in records) > 800


def test_a_candidates_file_without_text_is_a_4xx(client, project):
    response = client.post(
        f"{project}/themes/candidates/file",
        data={"files": (io.BytesIO(b"title,doi\n,10.1/x\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 422)
