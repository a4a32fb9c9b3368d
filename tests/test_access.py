"""Authentication and roles: 401 without a valid token, 404 outside one's projects, 403 where
the role is too low; each rule for each role."""

import io

import pytest

from tests.conftest import DATA, authenticated

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
GENERIC = DATA / "import" / "asreview_demo_data" / "generic.csv"
P = "/api/projects/p"


@pytest.fixture
def people(client, as_reviewer, service):
    """Project 'p' (single screening) made by ann (administrator); rita reviewer, rex resolver,
    mia maintainer, otto in no project. Returns the clients and a record id."""
    assert client.post("/api/projects", json={"name": "p", "question": "ADHD"}).status_code == 201
    service.import_files("p", [ADHD], ignore_labels=True)
    clients = {
        "ann": client,
        "rita": as_reviewer("rita", project="p"),
        "rex": as_reviewer("rex", project="p", role="resolver"),
        "mia": as_reviewer("mia", project="p", role="maintainer"),
        "otto": as_reviewer("otto"),
    }
    record_id = client.get(f"{P}/records", query_string={"limit": 1}).get_json()["items"][0][
        "record_id"
    ]
    return clients, record_id


def api_routes(app):
    """Every (method, path) of the API with placeholder arguments."""
    values = {"project": "p", "record_id": "1", "job_id": "x", "name": "rita", "token_id": "1"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", values[argument])
            path = path.replace(f"<int:{argument}>", values[argument])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_every_route_but_health_needs_a_valid_token(app, anon, people, service):
    clients, _ = people
    routes = list(api_routes(app))
    assert len(routes) > 30
    for method, path in routes:
        response = anon.open(path, method=method)
        if path == "/api/health":
            assert response.status_code == 200
            continue
        assert response.status_code == 401, (method, path)
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert anon.get("/api/openapi.json").status_code == 200
    for header in ("Bearer", "Bearer sw_not-a-token", "Basic YW5uOnB3", clients["rita"].token):
        response = app.test_client().get("/api/me", headers={"Authorization": header})
        assert response.status_code == 401, header
    spec = anon.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/health"]["get"]["security"] == []


def test_a_revoked_token_stops_working_at_once(app, people):
    clients, _ = people
    rita = clients["rita"]
    assert rita.get("/api/me").get_json()["name"] == "rita"
    second = rita.post("/api/reviewers/rita/tokens", json={"label": "laptop"})
    assert second.status_code == 201 and second.get_json()["token"].startswith("sw_")
    laptop = authenticated(app, second.get_json()["token"])
    assert laptop.get("/api/me").status_code == 200
    tokens = rita.get("/api/reviewers/rita/tokens").get_json()
    assert [t["label"] for t in tokens] == ["tests", "laptop"]
    assert all("token" not in t and "token_hash" not in t for t in tokens)
    assert rita.delete(f"/api/tokens/{second.get_json()['token_id']}").status_code == 200
    assert laptop.get("/api/me").status_code == 401
    assert rita.get("/api/me").status_code == 200
    assert rita.delete(f"/api/tokens/{second.get_json()['token_id']}").status_code == 404


def test_tokens_are_stored_hashed(people, service):
    clients, _ = people
    import hashlib

    rows = service.store._query("SELECT token_hash FROM tokens")
    secret = clients["rita"].token
    assert all(secret not in row[0] for row in rows)
    assert hashlib.sha256(secret.encode()).hexdigest() in {row[0] for row in rows}


def test_people_and_tokens_are_the_administrators(people):
    clients, _ = people
    for name in ("rita", "rex", "mia"):
        c = clients[name]
        assert c.get("/api/reviewers").status_code == 403, name
        assert c.post("/api/reviewers", json={"name": "zed"}).status_code == 403, name
        assert c.post("/api/projects", json={"name": f"mine-{name}"}).status_code == 403, name
        assert c.get("/api/audit").status_code == 403, name
        assert c.post("/api/reviewers/otto/tokens", json={}).status_code == 403, name
        assert c.get("/api/reviewers/otto/tokens").status_code == 403, name
    otto_token = clients["ann"].get("/api/reviewers/otto/tokens").get_json()[0]
    assert clients["rita"].delete(f"/api/tokens/{otto_token['token_id']}").status_code == 403
    ann = clients["ann"]
    assert ann.post("/api/reviewers", json={"name": "zed"}).status_code == 201
    assert ann.post("/api/reviewers", json={"name": "zed"}).status_code == 409
    assert ann.post("/api/reviewers/zed/tokens", json={}).status_code == 201
    assert ann.post("/api/reviewers/nobody/tokens", json={}).status_code == 404
    assert {r["name"] for r in ann.get("/api/reviewers").get_json()} >= {"ann", "zed", "otto"}


def test_outsiders_see_nothing_of_a_project(people):
    clients, record_id = people
    otto = clients["otto"]
    assert otto.get("/api/projects").get_json() == []
    assert otto.get("/api/me").get_json()["projects"] == []
    missing = otto.get("/api/projects/no-such-project")
    for path in (
        P,
        "/api/projects/1",
        f"{P}/records",
        f"{P}/records/{record_id}",
        f"{P}/queue",
        f"{P}/progress",
        f"{P}/prisma",
        f"{P}/members",
        f"{P}/decisions",
        f"{P}/search?q=adhd",
        f"{P}/conflicts",
        f"{P}/audit",
        f"{P}/export",
        f"{P}/model",
    ):
        response = otto.get(path)
        assert response.status_code == 404, path
    # The same answer as for a project that does not exist: its existence does not leak.
    assert otto.get(P).get_json()["detail"] == missing.get_json()["detail"].replace(
        "no-such-project", "p"
    )
    decision = otto.post(
        f"{P}/records/{record_id}/decisions", json={"label": "include", "reviewer": "otto"}
    )
    assert decision.status_code == 404
    assert otto.delete(P).status_code == 404


# (operation, path, json body) -> the least role that may do it
OPERATIONS = [
    ("get", P, None, "reviewer"),
    ("get", f"{P}/records", None, "reviewer"),
    ("get", f"{P}/queue", None, "reviewer"),
    ("get", f"{P}/progress", None, "reviewer"),
    ("get", f"{P}/prisma", None, "reviewer"),
    ("get", f"{P}/members", None, "reviewer"),
    ("get", f"{P}/model", None, "reviewer"),
    ("get", f"{P}/search?q=stimulants", None, "reviewer"),
    ("get", f"{P}/conflicts", None, "resolver"),
    ("get", f"{P}/export", None, "maintainer"),
    ("get", f"{P}/audit", None, "maintainer"),
    ("post", f"{P}/training", {}, "maintainer"),
    ("patch", P, {"question": "ADHD drugs"}, "maintainer"),
    ("put", f"{P}/members/otto", {"role": "reviewer"}, "maintainer"),
]
RANK = {"reviewer": 1, "resolver": 2, "maintainer": 3}
ROLE_OF = {"rita": "reviewer", "rex": "resolver", "mia": "maintainer", "ann": "maintainer"}


@pytest.mark.parametrize("name", ["rita", "rex", "mia", "ann"])
def test_each_role_may_do_what_its_rank_allows(people, name):
    clients, _ = people
    c = clients[name]
    for method, path, body, least in OPERATIONS:
        response = (
            getattr(c, method)(path, json=body)
            if body is not None
            else c.open(path, method=method.upper())
        )
        allowed = RANK[ROLE_OF[name]] >= RANK[least]
        expected = (200,) if allowed else (403,)
        assert response.status_code in expected, (name, method, path, response.get_json())
        if not allowed:
            assert least in response.get_json()["detail"]
    upload = c.post(
        f"{P}/records",
        data={"files": [(io.BytesIO(GENERIC.read_bytes()), "g.csv")]},
        content_type="multipart/form-data",
    )
    assert upload.status_code == (202 if ROLE_OF[name] == "maintainer" else 403)


def test_decisions_are_recorded_under_the_callers_name(people):
    clients, record_id = people
    rita, rex = clients["rita"], clients["rex"]
    path = f"{P}/records/{record_id}/decisions"
    as_other = rita.post(path, json={"label": "include", "reviewer": "rex"})
    assert as_other.status_code == 403 and "rita" in as_other.get_json()["detail"]
    made = rita.post(path, json={"label": "include", "reviewer": "rita"})
    assert made.status_code == 201 and made.get_json()["reviewer"] == "rita"
    resolution = {"label": "exclude", "reviewer": "rita", "origin": "resolution"}
    assert rita.post(path, json=resolution).status_code == 403
    resolution["reviewer"] = "rex"
    assert rex.post(path, json=resolution).status_code == 201
    audit = clients["mia"].get(f"{P}/audit").get_json()
    assert [e["actor"] for e in audit if e["action"] in ("decision.change", "resolution")] == [
        "rex"
    ]


def test_members_are_managed_by_maintainers(people):
    clients, _ = people
    mia, ann = clients["mia"], clients["ann"]
    members = mia.put(f"{P}/members/otto", json={"role": "resolver"}).get_json()
    assert {m["reviewer"]: m["role"] for m in members} == {
        "ann": "maintainer",  # the administrator who created it
        "rita": "reviewer",
        "rex": "resolver",
        "mia": "maintainer",
        "otto": "resolver",
    }
    otto = clients["otto"]
    assert otto.get(f"{P}/conflicts").status_code == 200
    assert [p["role"] for p in otto.get("/api/me").get_json()["projects"]] == ["resolver"]
    assert mia.put(f"{P}/members/nobody", json={"role": "reviewer"}).status_code == 404
    assert mia.put(f"{P}/members/otto", json={"role": "owner"}).status_code == 400
    assert mia.delete(f"{P}/members/otto").status_code == 204
    assert otto.get(P).status_code == 404
    assert mia.delete(f"{P}/members/otto").status_code == 404
    assert mia.delete(f"{P}/members/ann").status_code == 204
    last = mia.delete(f"{P}/members/mia")
    assert last.status_code == 409 and "last maintainer" in last.get_json()["detail"]
    # An administrator keeps maintaining every project without being a member.
    assert ann.get(f"{P}/export").status_code == 200


def test_archiving_hides_a_project_and_keeps_everything(people, service, runner):
    clients, record_id = people
    rita, mia = clients["rita"], clients["mia"]
    rita.post(f"{P}/records/{record_id}/decisions", json={"label": "include", "reviewer": "rita"})
    assert rita.delete(P).status_code == 403
    assert mia.delete(P).status_code == 204
    for name, c in clients.items():
        assert c.get(P).status_code == 404, name
        assert c.get("/api/projects").get_json() == [], name
    project = service.store.project("p", archived=True)
    assert project.archived_at is not None
    assert len(service.store.decisions(project.project_id)) == 1
    actions = [e["action"] for e in service.store.audit(project.project_id)]
    assert actions[0] == "project.create" and actions[-1] == "project.archive"
    result = runner(["audit", "--project", "p"])
    assert result.exit_code == 0 and "project.archive" in result.output
    assert clients["ann"].post("/api/projects", json={"name": "p"}).status_code == 409
