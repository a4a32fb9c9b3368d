"""Shared fixtures: a fake encoder for fast tests, the real packaged model for a few, and the
Flask ``app``, ``client`` and CLI ``runner`` on a temporary home folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes import HashingEncoder
from tests.openapi import SpecCheckingClient
from webapi import create_app
from webapi.services import Screenwise

DATA = Path(__file__).parent / "data"


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
