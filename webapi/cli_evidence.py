"""Command-line commands for study types and the evidence map (registered on ``main``)."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _actor, _fails_cleanly, _print_json, _service, main

# The same names as classifier.studytype.STUDY_TYPES, listed here so --help loads no models.
STUDY_TYPE_CHOICES = ("review", "rct", "quantitative", "qualitative", "guideline", "other")


@main.command("study-types")
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--refit",
    is_flag=True,
    help="Read again the records the text classifier typed (a reviewer's type stays).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
@_fails_cleanly
def study_types(ctx: click.Context, project: str, refit: bool, as_json: bool) -> None:
    """Type the project's untyped records (an import does it) and print records per type."""
    service = _service(ctx)
    done = service.classify_study_types(project, refit=refit)
    facets = service.study_type_facets(project)
    if as_json:
        _print_json({"classified": done, "study_types": facets})
        return
    click.echo(
        f"typed {done['written']} records ({done['metadata']} from metadata, "
        f"{done['model']} by the text classifier)"
    )
    for facet in facets:
        click.echo(f"{facet['records']:>8}  {facet['label']}")


@main.command("study-type")
@click.option("--project", required=True, help="Project name or id.")
@click.argument("record_id", type=int)
@click.argument("study_type", type=click.Choice(STUDY_TYPE_CHOICES))
@click.pass_context
@_fails_cleanly
def study_type(ctx: click.Context, project: str, record_id: int, study_type: str) -> None:
    """Correct one record's study type (kept over any classifier pass; audited)."""
    record = _service(ctx).correct_study_type(project, record_id, study_type, actor=_actor())
    click.echo(f"record {record['record_id']}: {record['study_type']}")


@main.command("evidence-map")
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--by",
    type=click.Choice(["study_type", "year"]),
    default="study_type",
    show_default=True,
    help="Columns: study type or publication year.",
)
@click.option(
    "--stage",
    type=click.Choice(["auto", "title_abstract", "full_text"]),
    default="auto",
    show_default=True,
    help="Which includes count; auto: full text once any record has a final full-text decision.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "svg", "png"]),
    default=None,
    help="By default the output file's extension, else table.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when left out (not for png).",
)
@click.pass_context
@_fails_cleanly
def evidence_map_command(
    ctx: click.Context, project: str, by: str, stage: str, fmt: str | None, output: Path | None
) -> None:
    """Included records by theme and study type (or year): table, CSV, JSON or heat map."""
    import json

    from . import evidence_map

    suffix = output.suffix.lstrip(".").lower() if output else ""
    fmt = fmt or (suffix if suffix in ("csv", "json", "svg", "png") else "table")
    data = _service(ctx).evidence_map(project, by=by, stage=stage)
    if fmt == "png":
        if output is None:
            raise click.UsageError("a PNG needs -o FILE")
        output.write_bytes(evidence_map.render_png(data))
        click.echo(f"wrote {output}", err=True)
        return
    text = {
        "table": evidence_map.to_table,
        "csv": evidence_map.to_csv,
        "json": lambda d: json.dumps(d, indent=2, ensure_ascii=False) + "\n",
        "svg": evidence_map.render_svg,
    }[fmt](data)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
