import json

import click
import pytest

from tests.conftest import DATA
from webapi.cli import main

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


def _commands(group: click.Group, path: list[str]) -> list[list[str]]:
    """Every command and subcommand, as argument paths."""
    out = [path]
    for name in sorted(group.commands):
        command = group.commands[name]
        if isinstance(command, click.Group):
            out += _commands(command, [*path, name])
        else:
            out.append([*path, name])
    return out


def _lookup(path: list[str]) -> click.Command:
    command: click.Command = main
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("command", _commands(main, []), ids=lambda p: " ".join(p) or "main")
def test_every_command_has_help(runner, command):
    result = runner([*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    doc = _lookup(command).help
    assert doc, f"{command} has no help text"
    assert " ".join(doc.split("\n")[0].split()) in " ".join(result.output.split())
    options = _lookup(command).params
    for option in (p for p in options if isinstance(p, click.Option)):
        assert option.help, f"{command} option {option.name} has no help text"


def test_import_search_stats_json_contract(runner):
    result = runner(["import", "--project", "p", "--json", str(ADHD)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert {"added", "duplicates", "without_text", "prior_labels"} <= set(summary)
    assert summary["added"] == 851
    result = runner(["search", "--project", "p", "-k", "3", "--json", "clonidine analgesia"])
    hits = json.loads(result.output)
    assert len(hits) == 3
    assert {"record_id", "source_id", "score", "title"} <= set(hits[0])
    stats = json.loads(runner(["stats", "--project", "p", "--json"]).output)
    assert {"records", "duplicates", "screened", "included", "excluded"} <= set(stats)
    assert stats["records"] == 851 and stats["included"] == 20


def test_errors_go_to_stderr_with_nonzero_status(runner, tmp_path):
    result = runner(["stats", "--project", "missing"])
    assert result.exit_code != 0
    assert "no project 'missing'" in result.stderr
    bad = tmp_path / "notes.docx"
    bad.write_bytes(b"PK\x03\x04")
    result = runner(["import", "--project", "p", str(bad)])
    assert result.exit_code != 0 and "notes.docx" in result.stderr


def test_queue_train_export(runner, tmp_path):
    assert runner(["import", "--project", "p", "--ignore-labels", str(ADHD)]).exit_code == 0
    result = runner(["queue", "--project", "p", "-n", "3"])
    assert result.exit_code == 0, result.output
    assert "851 unscreened; ranked by: none" in result.output
    queue = json.loads(runner(["queue", "--project", "p", "-n", "2", "--json"]).output)
    assert len(queue["items"]) == 2 and queue["mode"] == "none"
    result = runner(["train", "--project", "p"])
    assert result.exit_code == 0 and "(none)" in result.output
    output = tmp_path / "p.ris"
    result = runner(["export", "--project", "p", "--format", "ris", "-o", str(output)])
    assert result.exit_code == 0 and output.read_text().count("ER  -") == 851
    csv_text = runner(["export", "--project", "p"]).output
    assert csv_text.startswith("record_id,source_id,title")
    assert runner(["train", "--project", "nope"]).exit_code == 1


def test_people_tokens_members(runner, service):
    from webapi.access import token_hash

    assert runner(["import", "--project", "p", str(ADHD)]).exit_code == 0
    result = runner(["user", "create", "--admin", "ann"])
    assert result.exit_code == 0 and "administrator ann" in result.output
    assert runner(["user", "create", "ann"]).exit_code == 1
    assert runner(["user", "create", "bob"]).exit_code == 0
    users = json.loads(runner(["user", "list", "--json"]).output)
    assert [(u["name"], u["is_admin"]) for u in users] == [("ann", True), ("bob", False)]
    result = runner(["token", "create", "--label", "laptop", "bob"])
    assert result.exit_code == 0
    secret = result.stdout.strip()
    assert secret.startswith("sw_") and "shown once" in result.stderr
    assert service.store.reviewer_by_token(token_hash(secret)).name == "bob"
    assert runner(["token", "create", "nobody"]).exit_code == 1
    assert "laptop  valid" in runner(["token", "list", "bob"]).output
    [token] = json.loads(runner(["token", "list", "--json"]).output)
    assert runner(["token", "revoke", str(token["token_id"])]).exit_code == 0
    assert service.store.reviewer_by_token(token_hash(secret)) is None
    assert runner(["token", "revoke", str(token["token_id"])]).exit_code == 1
    assert runner(["member", "add", "--project", "p", "--role", "resolver", "bob"]).exit_code == 0
    assert runner(["member", "list", "--project", "p"]).output.strip() == "bob  resolver"
    assert runner(["member", "add", "--project", "p", "--role", "boss", "bob"]).exit_code == 2
    assert runner(["member", "remove", "--project", "p", "bob"]).exit_code == 0
    assert runner(["member", "list", "--project", "p"]).output == ""
    audit = json.loads(runner(["audit", "--project", "p", "--json"]).output)
    actor = audit[0]["actor"]
    assert actor.startswith("cli:") and {e["actor"] for e in audit} == {actor}
    assert [e["action"] for e in audit] == [
        "project.create",
        "import",
        "member.set",
        "member.remove",
    ]
    assert runner(["audit", "--project", "p", "--csv"]).output.startswith("event_id,created_at")


def test_demo_user_is_made_once_and_serve_can_show_its_token(runner, service):
    import stat

    from webapi.access import token_hash

    assert runner(["import", "--project", "demo", "--ignore-labels", str(ADHD)]).exit_code == 0
    assert runner(["user", "demo", "--project", "demo"]).exit_code == 0
    path = service.data_dir / "demo-token"
    secret = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert service.store.reviewer_by_token(token_hash(secret)).is_admin
    assert runner(["user", "demo", "--project", "demo"]).exit_code == 0
    assert path.read_text().strip() == secret and len(service.store.tokens("demo")) == 1
    assert service.store.members(1) == [
        {
            "reviewer": "demo",
            "role": "maintainer",
            "added_at": service.store.members(1)[0]["added_at"],
        }
    ]


ANTIHISTAMINES = DATA / "screening" / "Cohen_2006_Antihistamines.csv"


@pytest.mark.slow
def test_simulate_writes_order_metrics_and_curve_and_embeds_once(runner, service, tmp_path):
    """Two seeds over a real labeled review: the JSON has the file's own ids in screening order
    (priors first) and metrics recomputable from them; a second run embeds nothing."""
    from classifier.metrics import screening_metrics
    from index.datasets import read_labeled

    out, png = tmp_path / "runs.json", tmp_path / "recall.png"
    args = ["simulate", "--seeds", "0,1", "--retrain", "fast", str(ANTIHISTAMINES)]
    result = runner([*args, "--json", str(out), "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert "mean" in result.output
    runs = json.loads(out.read_text())
    dataset = read_labeled(ANTIHISTAMINES)
    label_of = dict(zip(dataset.ids, dataset.labels.tolist(), strict=True))
    assert [run["seed"] for run in runs] == [0, 1]
    for run in runs:
        assert sorted(run["order"]) == sorted(dataset.ids)
        assert run["order"][:2] == run["priors"]
        assert [label_of[i] for i in run["priors"]] == [1, 0]
        expected = screening_metrics([label_of[i] for i in run["order"][2:]])
        for name, value in run["metrics"].items():
            assert value == pytest.approx(expected[name], abs=1e-6)
        assert run["metrics"]["loss"] < 0.4  # far better than random order (about 0.5)
    assert runs[0]["priors"] != runs[1]["priors"]
    image = png.read_bytes()
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    # Titled with what was simulated (also kept as the PNG's Title).
    title = f"{ANTIHISTAMINES.stem}: {len(dataset)} records"
    assert title.encode() in image and b"retrain fast, seeds 0, 1" in image
    embedded = service.encoder.encoded
    again = runner([*args[:-1], "--seeds", "0", str(ANTIHISTAMINES), "--json", str(out)])
    assert again.exit_code == 0, again.output
    assert service.encoder.encoded == embedded
    assert json.loads(out.read_text())[0]["order"] == runs[0]["order"]


@pytest.mark.slow
def test_simulate_weighs_the_question_in_a_question_setting(runner, tmp_path):
    """With a question setting, ``--question`` ranks for the whole review (not only the cold
    start): the order differs from the same setting without a question, which is its base's
    (``logistic+maxcos+semantic``)."""
    base = ["simulate", "--seeds", "0", "--retrain", "fast", str(ANTIHISTAMINES)]
    orders = {}
    for name, extra in {
        "base": ["--setting", "logistic+maxcos+semantic"],
        "plain": ["--setting", "default+question1"],
        "asked": ["--setting", "default+question1", "--question", "antihistamines for rhinitis"],
    }.items():
        out = tmp_path / f"{name}.json"
        result = runner([*base, *extra, "--json", str(out)])
        assert result.exit_code == 0, result.output
        orders[name] = json.loads(out.read_text())[0]["order"]
    assert orders["plain"] == orders["base"]
    assert orders["asked"] != orders["plain"]


def test_simulate_refuses_unlabeled_files_and_bad_seeds(runner):
    unlabeled = DATA / "import" / "asreview_demo_data" / "generic.csv"
    result = runner(["simulate", str(unlabeled)])
    assert result.exit_code == 1
    assert "generic.csv" in result.output and "no include/exclude label" in result.output
    result = runner(["simulate", "--seeds", "a,b", str(ANTIHISTAMINES)])
    assert result.exit_code == 2 and "comma-separated" in result.output


def test_candidates_ranks_new_hits_and_flags_screened_duplicates(runner, tmp_path):
    """A project trained on half of a real review ranks the other half (as new search hits):
    includes come early, and a hit already in the project names it and its decision."""
    import csv

    with ADHD.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    for path, part in ((old, rows[::2]), (new, rows[1::2] + rows[:1])):
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    assert runner(["import", "--project", "p", str(old)]).exit_code == 0
    result = runner(["candidates", "--project", "p", "--json", str(new)])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.output)
    assert len(ranked) == len(rows[1::2]) + 1
    duplicate = [c for c in ranked if c["duplicate_of"]]
    assert len(duplicate) == 1 and duplicate[0]["title"] == rows[0]["title"]
    assert duplicate[0]["duplicate_of"]["decision"]["label"] == (
        "include" if rows[0]["label_included"] == "1" else "exclude"
    )
    label = {r["title"]: r["label_included"] == "1" for r in rows}
    positions = [i for i, c in enumerate(ranked) if label[c["title"]] and not c["duplicate_of"]]
    assert positions and sum(positions) / len(positions) < 0.25 * len(ranked)
    text = runner(["candidates", "--project", "p", str(new)]).output
    assert "[duplicate of record" in text


def test_help_loads_no_model_library():
    """``screenwise --help`` (and the package it lives in) imports none of the models'
    libraries: they load in the commands that use them."""
    import subprocess
    import sys

    heavy = ("torch", "sentence_transformers", "faiss", "sklearn", "scipy", "transformers")
    code = (
        "import sys\n"
        "from webapi.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "Usage:" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_cli_constants_agree_with_their_modules():
    from classifier.relevance import DEFAULT_SETTING, SETTINGS
    from webapi import cli
    from webapi.writers import FORMATS

    assert tuple(cli.EXPORT_FORMATS) == tuple(FORMATS)
    assert cli.RELEVANCE_DEFAULT == DEFAULT_SETTING
    assert list(cli._relevance_settings()) == sorted(SETTINGS)


def test_stats_counts_maybes_as_screened(runner, service):
    assert runner(["import", "--project", "p", "--ignore-labels", str(ADHD)]).exit_code == 0
    make = service.store.create_reviewer
    make("ann", actor="tests")
    ids = [r["record_id"] for r in service.records("p", status="unscreened", limit=3)["items"]]
    for record_id, label in zip(ids, ["include", "exclude", "maybe"], strict=True):
        service.decide("p", record_id, label=label, reviewer="ann")
    figures = service.stats("p")
    lines = dict(
        (key.strip(), value.strip())
        for key, value in (
            line.split(":", 1) for line in runner(["stats", "--project", "p"]).output.splitlines()
        )
        if key.strip() != "file"
    )
    assert lines["screened"] == str(figures["screened"])
    assert int(lines["screened"]) == (
        int(lines["included"]) + int(lines["excluded"]) + int(lines["maybe"])
    )
    assert lines["maybe"] == "1"
    assert int(lines["screened"]) + int(lines["not screened"]) == int(lines["records"])


THEMES_CSV = "name,description\nStimulants,Methylphenidate and amphetamines\nAdults,\n"


def test_themes_are_added_renamed_and_described_with_labels_kept(runner, service, tmp_path):
    assert runner(["import", "--project", "p", "--ignore-labels", str(ADHD)]).exit_code == 0
    themes_file = tmp_path / "themes.csv"
    themes_file.write_text(THEMES_CSV, encoding="utf-8")
    result = runner(["theme", "add", "--project", "p", "--file", str(themes_file)])
    assert result.exit_code == 0, result.output
    # Again with --exist-ok (as make run does every time): nothing changes, no error.
    again = runner(["theme", "add", "--project", "p", "--exist-ok", "--file", str(themes_file)])
    assert again.exit_code == 0 and "there already" in again.output
    assert runner(["theme", "add", "--project", "p", "Adults"]).exit_code == 1  # taken
    service.store.create_reviewer("ann", actor="tests")
    [first, second] = [
        r["record_id"] for r in service.records("p", status="unscreened", limit=2)["items"]
    ]
    service.decide("p", first, label="include", reviewer="ann", themes=["Stimulants", "Adults"])
    service.decide("p", second, label="include", reviewer="ann", themes=["Adults"])

    result = runner(["theme", "rename", "--project", "p", "Stimulants", "Stimulant drugs"])
    assert result.exit_code == 0, result.output
    result = runner(["theme", "describe", "--project", "p", "Adults", "ADHD in adults"])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner(["theme", "list", "--project", "p", "--json"]).output)
    assert listed == [
        {"name": "Stimulant drugs", "description": "Methylphenidate and amphetamines"},
        {"name": "Adults", "description": "ADHD in adults"},
    ]
    pid = service.project("p").project_id
    assert service.store.current_themes(pid) == {
        first: ["Stimulant drugs", "Adults"],
        second: ["Adults"],
    }
    # Suggestions follow the themes as they are now.
    suggested = service.record_themes("p", [first])[0]["themes"]
    assert {t["theme"] for t in suggested} == {"Stimulant drugs", "Adults"}
    assert runner(["theme", "rename", "--project", "p", "Nope", "X"]).exit_code == 1
    assert runner(["theme", "add", "--project", "p"]).exit_code == 2  # a name or --file


def test_the_demo_themes_file_gives_six_described_themes(runner, tmp_path):
    """What make run adds to the demo review (data/demo/themes.csv), twice without error."""
    from pathlib import Path

    demo = Path(__file__).parent.parent / "data" / "demo"
    assert runner(["import", "--project", "demo", str(demo / "Cohen_2006_ADHD.csv")]).exit_code == 0
    for _ in range(2):
        args = ["theme", "add", "--project", "demo", "--exist-ok", "--file"]
        result = runner([*args, str(demo / "themes.csv")])
        assert result.exit_code == 0, result.output
    themes = json.loads(runner(["theme", "list", "--project", "demo", "--json"]).output)
    assert [t["name"] for t in themes] == [
        "Stimulants",
        "Non-stimulants",
        "Adverse effects",
        "Adults",
        "Long-term treatment",
        "Comorbid conditions",
    ]
    assert all(len(t["description"]) > 40 for t in themes)
