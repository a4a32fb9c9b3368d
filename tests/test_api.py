from tests.conftest import DATA

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["projects"] == 0


def test_search(client, service):
    [summary] = service.import_files("adhd", [ADHD])
    response = client.get(
        "/api/projects/adhd/search", query_string={"q": "methylphenidate", "k": 4}
    )
    assert response.status_code == 200
    hits = response.get_json()
    assert len(hits) == 4 and hits[0]["score"] >= hits[-1]["score"]
    by_id = client.get(
        f"/api/projects/{summary['project_id']}/search",
        query_string={"q": "methylphenidate", "k": 4},
    )
    assert by_id.get_json() == hits


def test_errors_are_problem_documents(client, service):
    service.import_files("adhd", [ADHD])
    missing = client.get("/api/projects/nope/search", query_string={"q": "x"})
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert set(missing.get_json()) >= {"type", "title", "status", "detail"}
    bad = client.get("/api/projects/adhd/search", query_string={"q": "x", "k": "many"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "k"
    no_q = client.get("/api/projects/adhd/search")
    assert no_q.status_code == 400 and no_q.get_json()["field"] == "q"
    unknown = client.get("/api/nothing-here")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"


def test_openapi_document_describes_the_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/health" in spec["paths"]
    path = spec["paths"]["/api/projects/{project}/search"]
    params = {p["name"] for p in path.get("parameters", []) + path["get"]["parameters"]}
    assert {"q", "k", "filter", "project"} <= params
