import json

import click
import pytest

from tests.conftest import DATA
from webapi.cli import main

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


@pytest.mark.parametrize("command", [[], *[[name] for name in sorted(main.commands)]])
def test_every_command_has_help(runner, command):
    result = runner([*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    doc = (main.commands[command[0]] if command else main).help
    assert doc, f"{command} has no help text"
    assert " ".join(doc.split("\n")[0].split()) in " ".join(result.output.split())
    options = (main.commands[command[0]] if command else main).params
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
