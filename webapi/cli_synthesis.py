"""Command-line commands for synthesis: ``screenwise theme discover`` and ``screenwise picks``
(registered on ``webapi.cli``'s groups when it is imported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .cli import _actor, _fails_cleanly, _print_json, _service, main, theme

FILTERS = ("included", "all", "screened", "unscreened", "excluded")


def _filter_and_stage(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--filter`` (``what`` it selects) and ``--stage`` options of discovery and picks."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--stage",
            type=click.Choice(("title_abstract", "full_text")),
            default="title_abstract",
            show_default=True,
            help="The stage whose final decisions --filter reads (full_text: the included "
            "studies).",
        )(command)
        return click.option(
            "--filter",
            "filter_",
            type=click.Choice(FILTERS),
            default="included",
            show_default=True,
            help=what,
        )(command)

    return decorate


def _accepted(specs: tuple[str, ...]) -> list[dict]:
    """``--accept`` values: ``IDS[:NAME]``, IDS being proposal ids joined by ``,`` or ``+``."""
    out = []
    for spec in specs:
        ids, _, name = spec.partition(":")
        try:
            proposals = [int(i) for i in ids.replace("+", ",").split(",") if i.strip()]
        except ValueError as e:
            raise click.BadParameter(
                f"{spec!r}: proposal ids are numbers, e.g. 0,3:Heart failure", param_hint="--accept"
            ) from e
        if not proposals:
            raise click.BadParameter(f"{spec!r} names no proposal", param_hint="--accept")
        out.append({"proposals": proposals} | ({"name": name.strip()} if name.strip() else {}))
    return out


@theme.command("discover")
@click.option("--project", required=True, help="Project name or id.")
@_filter_and_stage("Which records to find themes in (final decisions).")
@click.option(
    "--theme",
    "within",
    default=None,
    help="Only the records of this theme (labelled or suggested): its sub-themes.",
)
@click.option(
    "--accept",
    "accept",
    multiple=True,
    metavar="IDS[:NAME]",
    help="Make proposals project themes: '2' as proposed, '0,3:Heart failure' merged and "
    "named. Repeat for several themes; proposals not named are dropped.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the proposals (or result) as JSON.")
@click.pass_context
@_fails_cleanly
def theme_discover(
    ctx: click.Context,
    project: str,
    filter_: str,
    stage: str,
    within: str | None,
    accept: tuple[str, ...],
    as_json: bool,
) -> None:
    """Propose themes found in the project's records: size, distinctive terms and five
    representative titles each. With --accept, create the accepted ones as themes whose
    records are suggestions (not labels)."""
    service = _service(ctx)
    found = service.theme_proposals(project, filter=filter_, stage=stage, theme=within)
    if accept:
        done = service.accept_proposals(
            project,
            key=found["key"],
            themes=_accepted(accept),
            filter=filter_,
            stage=stage,
            theme=within,
            actor=_actor(),
        )
        if as_json:
            _print_json(done["themes"])
            return
        for t in done["themes"]:
            click.echo(f"theme {t['name']!r} added with {t['suggested']} suggested records")
        return
    if as_json:
        _print_json(found)
        return
    click.echo(
        f"{len(found['proposals'])} proposed themes in {found['records']} {filter_} records "
        f"({found['method']}, silhouette {found['silhouette']})"
    )
    for p in found["proposals"]:
        shared = f", {p['overlapping']} shared" if p["overlapping"] else ""
        click.echo(f"\n[{p['proposal_id']}] {p['name']}  ({p['size']} records{shared})")
        click.echo("    terms: " + ", ".join(t["term"] for t in p["terms"]))
        for t in p["titles"]:
            click.echo(f"    - {t['title']}" + (f" ({t['year']})" if t["year"] else ""))


@main.group()
def picks() -> None:
    """Representative records per theme, and the final selection (counts, mark, unmark)."""


@picks.command("show")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--theme", "theme_name", default=None, help="One theme (default: all).")
@click.option("-n", "n", default=5, show_default=True, help="Picks per theme.")
@click.option("--reviews-first", is_flag=True, help="Pick the theme's reviews first.")
@_filter_and_stage("Which records to pick from (final decisions).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
@_fails_cleanly
def picks_show(
    ctx: click.Context,
    project: str,
    theme_name: str | None,
    n: int,
    reviews_first: bool,
    filter_: str,
    stage: str,
    as_json: bool,
) -> None:
    """Each theme's most representative and varied records, with why each was picked."""
    result = _service(ctx).theme_picks(
        project,
        theme=theme_name,
        n=n,
        reviews_first=reviews_first,
        filter=filter_,
        stage=stage,
    )
    if as_json:
        _print_json(result)
        return
    for t in result:
        click.echo(f"{t['theme']}: {t['members']} records, {t['reviews']} reviews")
        for p in t["picks"]:
            mark = "*" if p["selected"] else " "
            click.echo(f" {mark}{p['order']}. [{p['record_id']}] {p['title']}")
            click.echo(f"      {p['reason']}")


@picks.command("select")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--theme", "theme_name", required=True, help="The theme it is selected for.")
@click.option("--reason", default="", help="Why (kept with the selection).")
@click.argument("record_ids", nargs=-1, type=int, required=True)
@click.pass_context
@_fails_cleanly
def picks_select(
    ctx: click.Context, project: str, theme_name: str, reason: str, record_ids: tuple[int, ...]
) -> None:
    """Mark RECORD_IDS selected for the theme's final selection."""
    service = _service(ctx)
    for record_id in record_ids:
        counts = service.select_pick(project, theme_name, record_id, reason=reason, actor=_actor())
    click.echo(f"{counts['selected']} records selected, {counts['reviews']} of them reviews")


@picks.command("unselect")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--theme", "theme_name", required=True, help="The theme it was selected for.")
@click.argument("record_ids", nargs=-1, type=int, required=True)
@click.pass_context
@_fails_cleanly
def picks_unselect(
    ctx: click.Context, project: str, theme_name: str, record_ids: tuple[int, ...]
) -> None:
    """Take RECORD_IDS out of the theme's final selection."""
    service = _service(ctx)
    for record_id in record_ids:
        counts = service.unselect_pick(project, theme_name, record_id, actor=_actor())
    click.echo(f"{counts['selected']} records selected, {counts['reviews']} of them reviews")


@picks.command("counts")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@_fails_cleanly
def picks_counts(ctx: click.Context, project: str, as_json: bool) -> None:
    """The final selection: records selected and reviews among them, overall and per theme
    (as a synthesis reports "26 sources, 7 of them reviews")."""
    counts = _service(ctx).selection_counts(project)
    if as_json:
        _print_json(counts)
        return
    click.echo(f"{counts['selected']} records selected, {counts['reviews']} of them reviews")
    for t in counts["themes"]:
        click.echo(f"  {t['theme']}: {t['selected']} selected, {t['reviews']} reviews")
