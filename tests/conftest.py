"""Shared fixtures: a fake encoder for fast tests, the real packaged model for a few, and the
Flask ``app``, ``client`` and CLI ``runner`` on a temporary home folder."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes import HashingEncoder
from tests.openapi import SpecCheckingClient
from webapi import create_app
from webapi.server import make_server
from webapi.services import Screenwise

DATA = Path(__file__).parent / "data"
# Screenshots of the browser tests (git-ignored); the run's summary prints where they are.
SCREENSHOTS = Path(__file__).parent / "_artifacts" / "screenshots"
_screenshots_taken: list[Path] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if _screenshots_taken:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(_screenshots_taken)} screenshots in {SCREENSHOTS}")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where browser tests save screenshots; each saved file is counted for the summary."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def note_screenshot(path: Path) -> Path:
    _screenshots_taken.append(path)
    return path


@pytest.fixture
def encoder() -> HashingEncoder:
    return HashingEncoder()


@pytest.fixture
def service(tmp_path: Path, encoder: HashingEncoder) -> Screenwise:
    svc = Screenwise(tmp_path, encoder=encoder)
    yield svc
    svc.close()


@pytest.fixture
def app(service: Screenwise):
    return create_app({"TESTING": True, "HOME": str(service.home), "SCREENWISE_SERVICE": service})


@pytest.fixture
def client(app):
    """A test client that checks every /api response against the OpenAPI document."""
    app.test_client_class = SpecCheckingClient
    return app.test_client()


@pytest.fixture
def live_server(service: Screenwise) -> Iterator[str]:
    """The app served by waitress on a free loopback port, in a thread; yields its base URL."""
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    connections: dict = {}
    server = make_server(app, host="127.0.0.1", port=0, threads=4, map=connections)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"

    def stop() -> None:
        # Runs in the loop's own thread: closing sockets from another thread while the loop
        # sits in select() on them makes it fail with EBADF.
        server.close()
        for channel in list(connections.values()):
            channel.close()

    server.trigger.pull_trigger(stop)
    thread.join(10)
    assert not thread.is_alive()
    server.task_dispatcher.shutdown()


@pytest.fixture
def runner(service: Screenwise):
    """Invoke the CLI against the fixture service: ``runner(["stats", ...])``."""
    from webapi.cli import main

    cli = CliRunner()

    def invoke(args: list[str]):
        return cli.invoke(main, ["--home", str(service.home), *args], obj={"service": service})

    return invoke


@pytest.fixture(scope="session")
def real_encoder():
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    from index.embedder import Embedder

    return Embedder()
