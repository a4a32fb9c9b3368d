"""Themes edited after a project starts, over the API: added, renamed (labels kept, in single
and in blind double screening) and described; the suggestions follow."""

from __future__ import annotations

from tests.conftest import DATA

RIS = DATA / "import" / "van_de_Schoot_2017" / "schoot-lgmm-ptsd-included-2.ris"


def project_with_labels(client, service, mode: str = "single") -> tuple[int, list[int]]:
    created = client.post(
        "/api/projects",
        json={"name": "t", "mode": mode, "themes": [{"name": "Kids", "description": "Children"}]},
    )
    assert created.status_code == 201, created.get_json()
    service.import_files("t", [RIS])
    ids = [r["record_id"] for r in service.records("t", limit=3)["items"]]
    return created.get_json()["project_id"], ids


def test_add_rename_describe(client, service):
    pid, ids = project_with_labels(client, service)
    for record_id in ids[:2]:
        made = client.post(
            f"/api/projects/t/records/{record_id}/decisions",
            json={"label": "include", "reviewer": "ann", "themes": ["Kids"]},
        )
        assert made.status_code == 201
    added = client.post("/api/projects/t/themes", json={"name": "Veterans", "description": "V"})
    assert added.status_code == 201
    assert [t["name"] for t in added.get_json()["themes"]] == ["Kids", "Veterans"]
    taken = client.post("/api/projects/t/themes", json={"name": "Kids"})
    assert taken.status_code == 409

    renamed = client.patch("/api/projects/t/themes", json={"theme": "Kids", "name": "Children"})
    assert renamed.status_code == 200
    assert renamed.get_json()["themes"] == [
        {"name": "Children", "description": "Children"},
        {"name": "Veterans", "description": "V"},
    ]
    assert service.store.current_themes(pid) == {ids[0]: ["Children"], ids[1]: ["Children"]}
    described = client.patch(
        "/api/projects/t/themes", json={"theme": "Veterans", "description": "Armed forces"}
    )
    assert described.get_json()["themes"][1] == {"name": "Veterans", "description": "Armed forces"}
    # The suggestions follow the themes as they are now, right away.
    themes = client.get(f"/api/projects/t/records/{ids[2]}/themes").get_json()
    assert {t["theme"] for t in themes["themes"]} == {"Children", "Veterans"}
    assert client.get(f"/api/projects/t/records/{ids[0]}/themes").get_json()["labelled"] == [
        "Children"
    ]

    assert client.patch("/api/projects/t/themes", json={"theme": "Nope"}).status_code == 404
    clash = client.patch("/api/projects/t/themes", json={"theme": "Children", "name": "Veterans"})
    assert clash.status_code == 409
    blank = client.patch("/api/projects/t/themes", json={"theme": "Children", "name": " "})
    assert blank.status_code == 400 and "name" in blank.get_json()["detail"]
    actions = [e["action"] for e in service.store.audit(pid)]
    assert actions.count("theme.update") == 2 and actions.count("theme.add") == 1


def test_only_maintainers_edit_themes(client, service, as_reviewer):
    project_with_labels(client, service)
    bob = as_reviewer("bob", project="t")
    assert bob.post("/api/projects/t/themes", json={"name": "X"}).status_code == 403
    assert (
        bob.patch("/api/projects/t/themes", json={"theme": "Kids", "name": "Y"}).status_code == 403
    )


def test_a_rename_keeps_each_reviewers_blind_labels(client, service, as_reviewer):
    """Blind double screening: each reviewer sees their own labels, renamed, and not the
    other's."""
    _, ids = project_with_labels(client, service, mode="double")
    rita = as_reviewer("rita", project="t")
    rob = as_reviewer("rob", project="t")
    client.post("/api/projects/t/themes", json={"name": "Adults"})
    for who, name, label, themes in (
        (rita, "rita", "include", ["Kids"]),
        (rob, "rob", "exclude", ["Adults", "Kids"]),
    ):
        made = who.post(
            f"/api/projects/t/records/{ids[0]}/decisions",
            json={"label": label, "reviewer": name, "themes": themes},
        )
        assert made.status_code == 201, made.get_json()
    assert (
        client.patch("/api/projects/t/themes", json={"theme": "Kids", "name": "Young"}).status_code
        == 200
    )
    assert rita.get(f"/api/projects/t/records/{ids[0]}/themes").get_json()["labelled"] == ["Young"]
    assert rob.get(f"/api/projects/t/records/{ids[0]}/themes").get_json()["labelled"] == [
        "Adults",
        "Young",
    ]
