"""``screenwise protocol`` and ``screenwise limits``: the review protocol's search and limits,
and the one action that excludes the unscreened records outside them (``index.limits``)."""

from __future__ import annotations

import click

from .cli import _actor, _fails_cleanly, _print_json, _service


def _year(value: str | None) -> int | str | None:
    """A year option: a whole year, or ``none`` to remove that limit."""
    if value is None:
        return "keep"
    if value.strip().lower() in ("", "none"):
        return None
    if not value.strip().isdigit():
        raise click.BadParameter(f"{value!r} is no year (or 'none' to remove the limit)")
    return int(value)


@click.group()
def protocol() -> None:
    """The review protocol's search: its search string, searches and limits."""


@protocol.command("show")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@_fails_cleanly
def protocol_show(ctx: click.Context, project: str, as_json: bool) -> None:
    """Print the project's protocol (search string, searches, years, languages)."""
    stored = _service(ctx).project(project).settings.get("protocol") or {}
    if as_json:
        _print_json(stored)
        return
    if not stored:
        click.echo("no protocol: every record is within the search limits")
        return
    years = f"{stored.get('years_from') or '…'}-{stored.get('years_to') or '…'}"
    click.echo(f"search string: {stored.get('search_string') or '-'}")
    for search in stored.get("searches", []):
        click.echo(f"  {search['database']} ({search['date'] or 'no date'}): {search['string']}")
    click.echo(f"years: {years}")
    click.echo(f"languages: {', '.join(stored.get('languages', [])) or 'any'}")


@protocol.command("set")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--search-string", default=None, help="The search string, as run.")
@click.option(
    "--search",
    "searches",
    multiple=True,
    metavar="DATABASE|DATE|STRING",
    help="One database's search: name, date (YYYY-MM-DD or empty) and string, split by '|'."
    " Repeat for each; replaces the searches kept.",
)
@click.option("--years-from", default=None, help="Earliest publication year ('none': no limit).")
@click.option("--years-to", default=None, help="Latest publication year ('none': no limit).")
@click.option(
    "--language",
    "languages",
    multiple=True,
    help="A language searched (name or ISO 639 code); repeat for each. Replaces those kept.",
)
@click.option("--any-language", is_flag=True, help="Remove the language limit.")
@click.option("--clear", is_flag=True, help="Remove the whole protocol first.")
@click.pass_context
@_fails_cleanly
def protocol_set(
    ctx: click.Context,
    project: str,
    search_string: str | None,
    searches: tuple[str, ...],
    years_from: str | None,
    years_to: str | None,
    languages: tuple[str, ...],
    any_language: bool,
    clear: bool,
) -> None:
    """Set the protocol's search and limits; the fields not given stay as they are. Records
    outside the limits are flagged at once (``screenwise limits show``)."""
    service = _service(ctx)
    target = service.project(project)
    current = {} if clear else dict(target.settings.get("protocol") or {})
    if search_string is not None:
        current["search_string"] = search_string
    if searches:
        parsed = []
        for search in searches:
            parts = search.split("|", 2)
            if len(parts) != 3:
                raise click.BadParameter(f"{search!r}: give DATABASE|DATE|STRING", "--search")
            parsed.append({"database": parts[0], "date": parts[1], "string": parts[2]})
        current["searches"] = parsed
    for name, value in (("years_from", _year(years_from)), ("years_to", _year(years_to))):
        if value != "keep":
            current[name] = value
    if languages:
        current["languages"] = list(languages)
    if any_language:
        current.pop("languages", None)
    updated = service.store.update_project(
        target.project_id,
        settings={"protocol": {k: v for k, v in current.items() if v is not None}},
        actor=_actor(),
    )
    ctx.invoke(protocol_show, project=str(updated.project_id), as_json=False)
    _echo_report(service.store.limits_report(updated.project_id))


def _echo_report(report: dict) -> None:
    if not report["active"]:
        click.echo("no search limits: every record is within")
        return
    by_reason = report["outside_by_reason"]
    click.echo(
        f"{report['records']} records: {report['within']} within the search limits, "
        f"{report['outside']} outside (breaking the years {by_reason['year']}, the "
        f"languages {by_reason['language']}), {report['unknown']} unknown (year "
        f"{report['unknown_year']}, language {report['unknown_language']} not given: not outside)"
    )
    click.echo(
        f"outside: {report['removed']} removed before screening, {report['to_exclude']} to "
        f"exclude (screenwise limits apply), {report['screened']} screened by reviewers"
        + (f"; {report['to_restore']} exclusions to withdraw" if report["to_restore"] else "")
    )


@click.group()
def limits() -> None:
    """Records against the protocol's search limits, and the action that excludes them."""


@limits.command("show")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@_fails_cleanly
def limits_show(ctx: click.Context, project: str, as_json: bool) -> None:
    """How many records are within, outside and unknown to the search limits."""
    service = _service(ctx)
    report = service.store.limits_report(service.project(project).project_id)
    if as_json:
        _print_json(report)
    else:
        _echo_report(report)


@limits.command("apply")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@_fails_cleanly
def limits_apply(ctx: click.Context, project: str, as_json: bool) -> None:
    """Exclude every unscreened record outside the search limits ("outside search limits",
    removed before screening in PRISMA) and withdraw exclusions the limits no longer justify.
    One transaction; a second run changes nothing."""
    service = _service(ctx)
    result = service.store.apply_limits(service.project(project).project_id, actor=_actor())
    if as_json:
        _print_json(result)
        return
    click.echo(
        f"{result['excluded']} records excluded as {result['reason']!r}, {result['restored']} "
        f"exclusions withdrawn; {result['removed']} removed before screening in all; "
        f"{result['screened']} outside records keep their reviewers' decisions"
    )
