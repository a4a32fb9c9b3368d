"""The screening page: the HTML shell and its static files through the Flask test client, then
end-to-end tests in headless Chromium (Playwright) against the real waitress server, which runs
with the fake encoder on a loopback port.

The browser tests skip, saying why, only where Playwright or Chromium is missing; ``make test``
installs both when it may (see the Makefile).
"""

from __future__ import annotations

import csv
import glob
import io
import re
import time
import tomllib
from pathlib import Path

import pytest

import webapi
from tests.conftest import DATA, make_reviewer, note_screenshot
from webapi.pages import CONTENT_SECURITY_POLICY

PACKAGE = Path(webapi.__file__).parent
STATIC = PACKAGE / "static"
PAGE_FILES = sorted(
    p for p in [*STATIC.rglob("*"), *(PACKAGE / "templates").rglob("*")] if p.is_file()
)
RIS = DATA / "import" / "van_de_Schoot_2017" / "schoot-lgmm-ptsd-included-1.ris"
TABLE = DATA / "import" / "asreview_demo_data_historic" / "PTSD_VandeSchoot_18_debug.csv"
QUESTION = (
    "Latent trajectories of posttraumatic stress symptoms after trauma: growth mixture models"
)
THEMES = ["Children and adolescents", "Military and veterans", "Disaster survivors", "Injury"]
NAMES = ("ann", "rita", "rob", "res")  # an administrator, two reviewers, a resolver

# The only addresses the page's files name: links a reviewer opens in a new tab, and the SVG
# namespace (a name, never fetched).
ALLOWED_URLS = {
    "https://doi.org/",
    "https://pubmed.ncbi.nlm.nih.gov/",
    "http://www.w3.org/2000/svg",
}


# -- the shell and its files, without a browser -------------------------------------------------


def test_the_page_is_served_at_the_root_with_a_strict_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in policy and "*" not in policy
    # The one widening: images from blob: URLs (the PRISMA diagram, fetched with the token).
    assert directives["img-src"] == "'self' blob:"
    assert [d for d, sources in directives.items() if "blob:" in sources] == ["img-src"]
    assert "data:" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    # One external module and nothing inline: no script body, style element or handler attribute.
    assert re.findall(r"<script\b[^>]*>", html) == [
        '<script type="module" src="/static/js/app.js">'
    ]
    assert [body.strip() for body in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)] == [""]
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None


def test_the_page_is_not_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)


def test_every_static_file_is_served_with_its_type(client):
    types = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path in PAGE_FILES:
        if path.parent.name == "templates":
            continue
        response = client.get("/static/" + path.relative_to(STATIC).as_posix())
        assert response.status_code == 200, path
        assert types[path.suffix] in response.mimetype, (path, response.mimetype)
        response.close()


def test_every_module_the_page_imports_is_there():
    for module in STATIC.rglob("*.js"):
        for target in re.findall(r'^import .* from "(\.[^"]+)";$', module.read_text(), re.M):
            assert (module.parent / target).resolve().is_file(), (module, target)


def test_the_page_names_no_resource_on_the_internet():
    for path in PAGE_FILES:
        for url in re.findall(r"https?://[^\s\"'`)<>]*", path.read_text(encoding="utf-8")):
            assert url.split("${")[0] in ALLOWED_URLS, (path.name, url)


def test_record_text_never_goes_through_an_html_parser():
    """Record text is put in with textContent and text nodes only (never parsed as HTML), and no
    code is made from strings."""
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment"
        r"|DOMParser|\beval\(|new Function|setAttribute\(\"style\"|\.style\."
    )
    for module in STATIC.rglob("*.js"):
        assert forbidden.search(module.read_text()) is None, module


def test_only_api_js_talks_to_the_api_and_the_token_stays_in_the_tab():
    """Every request goes through api.js, which adds the bearer token and turns any 401 into
    the login view; the token lives in the tab's sessionStorage, never in localStorage or a
    cookie."""
    for module in STATIC.rglob("*.js"):
        source = module.read_text()
        if module.name != "api.js":
            assert re.search(r"\bfetch\(|XMLHttpRequest|[\"'`]/api\b", source) is None, module
        assert "localStorage." not in source and "document.cookie" not in source, module
    api = (STATIC / "js" / "api.js").read_text()
    assert re.findall(r"sessionStorage\.setItem\([^)]*\)", api) == [
        "sessionStorage.setItem(TOKEN_KEY, token)"
    ]
    assert api.count("Authorization: `Bearer ${token}`") == 1


def test_the_page_files_are_package_data():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["webapi"]
    packaged = {
        PACKAGE / match
        for pattern in patterns
        for match in glob.glob(pattern, root_dir=PACKAGE, recursive=True)
    }
    assert set(PAGE_FILES) <= packaged


# -- in a real browser ---------------------------------------------------------------------------

WIDE = {"width": 1366, "height": 768}
NARROW = {"width": 420, "height": 860}


class Watch:
    """What a page did that it should not: requests off the loopback server, console errors
    (a Content-Security-Policy violation is one), uncaught exceptions."""

    def __init__(self, page, base: str) -> None:
        self.base = base
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.expected: set[int] = set()  # error statuses a test provokes on purpose
        page.on("request", self._request)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.base + "/") or url.startswith(("blob:", "data:"))):
            self.outside.append(url)

    def expect(self, status: int) -> None:
        self.expected.add(status)

    def check(self) -> None:
        assert self.outside == [], "requests left 127.0.0.1"
        provoked = tuple(f"responded with a status of {status} " for status in self.expected)
        assert [e for e in self.errors if not provoked or not any(p in e for p in provoked)] == []


@pytest.fixture
def open_page(browser, live_server):
    """``open_page(viewport=WIDE)``: a page in a browser context of its own (its own
    sessionStorage, so its own signed-in reviewer), watched until the test ends."""
    opened = []

    def open_(viewport: dict = WIDE):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.watch = Watch(page, live_server)
        page.base = live_server
        opened.append((context, page.watch))
        return page

    yield open_
    for context, _ in opened:
        context.close()
    for _, watch in opened:
        watch.check()


@pytest.fixture
def page(open_page):
    return open_page()


def sign_in(page, token: str, route: str = "") -> None:
    """Open the page at ``route`` (a hash) and sign in with ``token`` in the login view."""
    page.goto(page.base + "/" + route)
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_selector("#session:not([hidden])")


def shoot(page, screenshot_dir: Path, name: str, *, full_page: bool = False) -> None:
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    note_screenshot(path)


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def wait_text(page, selector: str, expected: str) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent.trim() === t",
        arg=[selector, expected],
    )


def record_ready(page) -> None:
    page.wait_for_selector("#record[aria-busy=false] #record-title")


def press_and_wait_for_next(page, key: str) -> None:
    """Press a decision key and wait until another record is shown."""
    before = page.locator("#record").get_attribute("data-record-id")
    page.keyboard.press(key)
    page.wait_for_function(
        "id => { const r = document.querySelector('#record');"
        " return r && r.dataset.recordId !== id && r.getAttribute('aria-busy') === 'false'; }",
        arg=before,
    )


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => !el.closest('[hidden]') && el.type !== 'hidden')
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 80))"""


def assert_controls_labelled(page) -> None:
    assert page.evaluate(UNLABELLED_CONTROLS) == []


@pytest.mark.browser
def test_a_review_in_the_browser(page, screenshot_dir, service):
    """Sign in (a wrong token first), create a project, upload real exports, screen ten records
    with the keyboard, undo, see the progress and the PRISMA diagram, search, change a decision
    in the history, export, read the audit trail, sign out."""
    token = make_reviewer(service, "ann", admin=True)
    page.goto(page.base + "/#/projects")
    page.wait_for_selector("#login-form")
    assert page.locator("#token").get_attribute("type") == "password"
    assert page.evaluate("document.activeElement.id") == "token"
    assert page.locator("#session").is_hidden() and page.locator("#project-nav").is_hidden()
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "login-1366x768")
    page.watch.expect(401)  # the wrong token, on purpose
    page.fill("#token", "sw_" + "x" * 43)
    page.press("#token", "Enter")
    assert "not valid" in page.locator("#login-status .error").inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_selector("#create-project")
    assert text(page, "#me-name") == "ann" and page.locator("#me-admin").is_visible()
    assert page.evaluate("Object.keys(sessionStorage)") == ["screenwise.token"]
    page.reload()  # the tab stays signed in
    page.wait_for_selector("#create-project")
    assert text(page, "#me-name") == "ann"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    focus = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert focus == "solid"  # focus is visible
    assert_controls_labelled(page)

    page.fill("#project-name", "PTSD trajectories")
    page.fill("#project-question", QUESTION)
    for number, theme in enumerate(THEMES):
        if number >= 3:
            page.click("#add-theme-row")
        page.fill(f"#theme-name-{number}", theme)
    page.fill("#theme-description-1", "Soldiers, veterans and their families")
    page.press("#project-name", "Enter")

    # Upload: the progress bar, then one summary row per file.
    page.wait_for_selector("#import-form")
    assert_controls_labelled(page)
    page.set_input_files("#import-files", [str(RIS), str(TABLE)])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert page.locator("#upload-progress").get_attribute("value") == "100"
    rows = page.locator("#import-summary tbody tr")
    assert rows.count() == 2
    summary = {
        rows.nth(i).locator("th").inner_text(): {
            field: rows.nth(i).locator(f"[data-field={field}]").inner_text()
            for field in ("added", "duplicates", "without_abstract", "prior_labels")
        }
        for i in range(2)
    }
    assert summary == {
        RIS.name: {
            "added": "355",
            "duplicates": "8",
            "without_abstract": "164",
            "prior_labels": "none",
        },
        TABLE.name: {
            "added": "96",
            "duplicates": "2",
            "without_abstract": "24",
            "prior_labels": "none",
        },
    }

    # Screening: the queue starts from the review question.
    page.click("text=Start screening")
    record_ready(page)
    wait_text(page, "#stat-screened", "0")
    assert text(page, "#stat-total") == "451"
    assert page.locator("#record-score").get_attribute("data-mode") == "question"
    assert page.locator("#record-title mark").count() > 0  # the question's terms
    assert page.locator(".chip-theme").count() == len(THEMES)
    assert_controls_labelled(page)

    # Typing in the note is not a shortcut; Esc leaves the field and the keys work again.
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "note"
    page.keyboard.type("interim data only")
    assert text(page, "#stat-screened") == "0"
    page.keyboard.press("Escape")
    chip = page.locator(".chip-theme").first
    assert chip.get_attribute("aria-pressed") == "false"  # suggestions start off
    page.keyboard.press("1")
    assert chip.get_attribute("aria-pressed") == "true"

    page.evaluate("() => { window.sameDocument = true; }")
    keys = "imeieeimee"
    shot = False
    for number, key in enumerate(keys, 1):
        if not shot and page.locator(".abstract p:not(.muted)").count():
            shoot(page, screenshot_dir, "screening-1366x768")
            shot = True
        press_and_wait_for_next(page, key)
        wait_text(page, "#stat-screened", str(number))
        page.wait_for_function(
            "() => document.querySelector('#announce').textContent.includes('Next:')"
        )
    if not shot:
        shoot(page, screenshot_dir, "screening-1366x768")
    assert page.evaluate("() => window.sameDocument")  # no page load between records
    included = keys.count("i")
    assert text(page, "#stat-included") == str(included)
    assert text(page, "#stat-excluded") == str(keys.count("e"))
    # One include and one exclude: the queue now follows the model, retrained as we go.
    assert page.locator("#record-score").get_attribute("data-mode") == "model"
    trained = f"trained on {included} includes and {keys.count('e')} excludes"
    assert trained in text(page, "#record-mode")
    assert page.locator("#mini-recall path.curve").get_attribute("data-points") == "10"

    # Undo appends the state before: the last record is shown again, one fewer screened.
    last_title = page.locator("#undo-hint").inner_text()
    page.keyboard.press("u")
    wait_text(page, "#stat-screened", "9")
    assert "Undone" in text(page, ".chip-opened")
    assert page.locator("#record-title").inner_text()[:40] in last_title
    press_and_wait_for_next(page, "e")
    wait_text(page, "#stat-screened", "10")
    labels = [d["label"] for d in service.decisions(1, reviewer="ann")]
    assert len(labels) == 12 and labels[-2] == "undecided"
    # Only the decision whose chips the reviewer switched carried themes.
    assert list(service.store.current_themes(1).values()) == [[THEMES[0]]]
    assert service.project(1).themes[1].description == "Soldiers, veterans and their families"

    # Progress: the numbers and the curve.
    page.click("#project-nav >> text=Progress")
    page.wait_for_selector("#recall-chart path.curve")
    assert text(page, "#stat-screened").startswith("10 / 451")
    assert text(page, "#stat-included") == str(included)
    assert page.locator("#recall-chart path.curve").get_attribute("data-points") == "10"
    assert text(page, "#estimate-value") == "too early"  # 8 includes and excludes: 92 more to go
    assert text(page, "#estimate-interval") == "about 92 more decisions"
    shoot(page, screenshot_dir, "progress-1366x768")
    shoot(page, screenshot_dir, "progress-1366-full", full_page=True)

    # The PRISMA 2020 diagram: the API's SVG, fetched with the token, shown as an image from a
    # blob: URL (a CSP violation would be a console error), with both files to download.
    prisma = page.locator("#prisma-image")
    prisma.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('#prisma-image').naturalWidth > 0")
    assert prisma.get_attribute("src").startswith("blob:")
    assert prisma.get_attribute("alt").startswith(
        "PRISMA 2020 flow diagram: 461 records identified, 10 duplicates removed, 10 records"
    )
    assert prisma.bounding_box()["width"] > 600
    assert page.locator("#prisma svg, #prisma script").count() == 0  # no markup injected
    shoot(page, screenshot_dir, "progress-prisma-1366x768")
    with page.expect_download() as svg_download:
        page.click("[data-prisma=svg]")
    svg = Path(svg_download.value.path()).read_text()
    assert "Records identified (n = 461):" in svg and "Records screened (n = 10)" in svg
    assert "Marked maybe, to decide (n = 2)" in svg  # screened like the others, shown apart
    with page.expect_download() as png_download:
        page.click("[data-prisma=png]")
    assert Path(png_download.value.path()).read_bytes().startswith(b"\x89PNG\r\n")
    assert png_download.value.suggested_filename == "PTSD trajectories-prisma.png"

    # Search: "/" goes to the box; a hit opens in the screening view.
    page.keyboard.press("/")
    page.wait_for_selector("#search-q:focus")
    page.keyboard.type("recovery trajectories of children after traumatic injury")
    page.keyboard.press("Enter")
    page.wait_for_selector(".hit")
    assert page.locator(".hit").count() == 20
    scores = [float(s) for s in page.locator(".score-value").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "search-1366x768")
    first = page.locator(".hit-title").first
    title = first.inner_text()
    first.click()
    record_ready(page)
    assert page.locator("#record-title").inner_text() == title
    assert text(page, ".chip-opened") == "Opened from search"

    # History: ten decisions by ann; a change appends, the earlier decision stays.
    page.click("#project-nav >> text=History")
    page.wait_for_selector(".history-row")
    assert page.locator(".history-row").count() == 10
    assert "10 records decided by ann" in text(page, "#history-count")
    assert_controls_labelled(page)
    page.select_option("#history-label", "include")
    page.click(".filters button[type=submit]")
    page.wait_for_function(
        "n => document.querySelectorAll('.history-row').length === n", arg=included
    )
    row = page.locator(".history-row").first
    changed_id = row.get_attribute("data-record-id")
    row.locator("text=Change").click()
    record_ready(page)
    assert "Include" in text(page, ".current-decision")
    page.keyboard.press("m")
    page.wait_for_selector(".history-row")
    page.select_option("#history-label", "maybe")
    page.click(".filters button[type=submit]")
    changed = page.locator(f'.history-row[data-record-id="{changed_id}"]')
    changed.wait_for()
    assert "Earlier: Include (ann" in changed.inner_text()
    shoot(page, screenshot_dir, "history-1366x768")

    # The note typed at the start went with the first decision.
    page.select_option("#history-label", "")
    page.click(".filters button[type=submit]")
    page.wait_for_selector("text=Note: interim data only")

    # Export: both formats download with the decisions.
    with page.expect_download() as csv_download:
        page.click("[data-export=csv]")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert len(rows) == 451
    assert sum(r["decision"] != "" for r in rows) == 10
    assert sum(r["decision"] == "include" for r in rows) == included - 1
    with page.expect_download() as ris_download:
        page.click("[data-export=ris]")
    ris = Path(ris_download.value.path()).read_text()
    assert ris.count("TY  - ") == 451 and ris.count("ASReview_relevant") == included - 1
    assert ris_download.value.suggested_filename.endswith(".ris")

    # Audit: every decision, who and when; filtered in place; the CSV carries the same events.
    page.click("#project-nav >> text=Audit")
    page.wait_for_selector("#audit-table tbody tr")
    events = service.store.audit(1)
    assert page.locator("#audit-table tbody tr").count() == len(events)
    page.select_option("#audit-action", "decision")
    decided = [e for e in events if e["action"] == "decision"]
    assert len(decided) == 11  # ten, and the one after the undo (the undo was a change)
    page.wait_for_function(
        "n => document.querySelectorAll('#audit-table tbody tr').length === n", arg=len(decided)
    )
    assert set(page.locator("#audit-table tbody .audit-who").all_inner_texts()) == {"ann"}
    page.fill("#audit-text", "interim data")
    noted = sum(e["detail"].get("note") == "interim data only" for e in decided)
    assert noted >= 1
    page.wait_for_function(
        "n => document.querySelectorAll('#audit-table tbody tr').length === n", arg=noted
    )
    assert "interim data only" in text(page, "#audit-table tbody tr:first-child")
    page.fill("#audit-text", "")
    page.select_option("#audit-action", "")
    page.locator("#audit-text").blur()
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "audit-1366x768")
    with page.expect_download() as audit_download:
        page.click("#audit-csv")
    audit_rows = list(csv.DictReader(io.StringIO(Path(audit_download.value.path()).read_text())))
    assert [int(r["event_id"]) for r in audit_rows] == [e["event_id"] for e in events]

    # Help: "?" opens the keyboard map, Esc closes it.
    page.keyboard.press("?")
    assert page.locator("#help").evaluate("d => d.open")
    shoot(page, screenshot_dir, "help-1366x768")
    page.keyboard.press("Escape")
    assert not page.locator("#help").evaluate("d => d.open")

    page.click(".brand")
    page.wait_for_selector(".project-card")
    assert text(page, ".project-card h2") == "PTSD trajectories"
    shoot(page, screenshot_dir, "projects-1366x768")
    # The API's problem documents reach the reviewer.
    page.watch.expect(409)
    page.fill("#project-name", "PTSD trajectories")
    page.press("#project-name", "Enter")
    assert "already exists" in page.locator("#create-project .error").inner_text()
    assert page.evaluate("document.activeElement.id") == "project-name"

    # Signing out forgets the token: the login view, also after a reload.
    page.click("#sign-out")
    page.wait_for_selector("#login-form")
    assert page.locator("#session").is_hidden() and page.locator("#project-nav").is_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    page.wait_for_selector("#login-form")


@pytest.mark.browser
def test_a_slow_progress_answer_is_asked_for_less_often(page, service, monkeypatch):
    """Progress answers that take a while are not asked for after every click: the page waits
    four times the last answer's time, then asks once for the clicks in between."""
    project = service.create_project("busy", QUESTION, THEMES)
    service.import_files("busy", [RIS])
    token = make_reviewer(service, "bob")
    service.store.set_member(project.project_id, "bob", "reviewer")
    answer = service.progress_report

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return answer(*args, **kwargs)

    monkeypatch.setattr(service, "progress_report", slow)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/progress") else None)
    sign_in(page, token, "#/p/1/screen")
    record_ready(page)
    wait_text(page, "#stat-screened", "0")
    for key in "ieee":
        press_and_wait_for_next(page, key)
    wait_text(page, "#stat-screened", "4")  # the last refresh shows every decision
    assert text(page, "#stat-included") == "1"
    # One when the view opened, one after the first decision, then one for the other three.
    assert len(asked) < 1 + 4


@pytest.mark.browser
def test_narrow_window(page, screenshot_dir, service):
    """At 420 px wide: one column, no sideways scrolling, the decision buttons in reach."""
    project = service.create_project("narrow", QUESTION, THEMES)
    service.import_files("narrow", [RIS])
    token = make_reviewer(service, "bob")
    service.store.set_member(project.project_id, "bob", "maintainer")
    page.set_viewport_size(NARROW)
    sign_in(page, token, "#/p/1/screen")
    record_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    for key in "ieiee":
        press_and_wait_for_next(page, key)
    wait_text(page, "#stat-screened", "5")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    assert page.locator("#decide-include").is_visible()
    assert page.locator("#decide-include").bounding_box()["y"] < NARROW["height"]
    shoot(page, screenshot_dir, "screening-420")
    shoot(page, screenshot_dir, "screening-420-full", full_page=True)
    page.click("#project-nav >> text=Progress")
    page.wait_for_selector("#recall-chart path.curve")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    shoot(page, screenshot_dir, "progress-420", full_page=True)
    page.click("#project-nav >> text=Import")
    page.watch.expect(415)
    page.set_input_files("#import-files", [str(DATA / "import" / "rendered" / "README.md")])
    page.click("#import-form button[type=submit]")
    error = page.locator("#import-result .error")
    error.wait_for()
    assert "README.md" in error.inner_text()

    # A token revoked meanwhile: the next request answers 401 and the login view says why.
    [bobs] = service.store.tokens("bob")
    service.store.revoke_token(bobs["token_id"], actor="tests")
    page.watch.expect(401)
    page.click("#project-nav >> text=History")
    page.wait_for_selector("#login-form")
    assert "no longer valid" in text(page, "#login-form .notice")
    assert page.evaluate("sessionStorage.length") == 0


@pytest.mark.browser
def test_record_text_is_shown_as_text(page, service, tmp_path):
    """A title, author and abstract holding HTML and a script show as text and run nothing."""
    real = next(r for r in RIS.read_text(encoding="utf-8").split("\nER  -") if "\nAB  - " in r)
    hostile_title = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    hostile = re.sub(r"(?m)^TI  - (.*)$", lambda m: f"TI  - {hostile_title} {m[1]}", real, count=1)
    hostile = re.sub(r"(?m)^AB  - ", "AB  - <b>not bold</b> ", hostile, count=1)
    assert hostile.count("<b>") == 1 and hostile.count("<script>") == 1
    path = tmp_path / "hostile.ris"
    path.write_text(hostile + "\nER  - \n", encoding="utf-8")
    service.create_project("hostile", "trauma")
    service.import_files("hostile", [path])

    sign_in(page, make_reviewer(service, "ann", admin=True), "#/p/1/screen")
    record_ready(page)
    assert page.locator("#record-title").inner_text().startswith(hostile_title)
    assert page.locator("#record script, #record img, #record b").count() == 0
    assert "<b>not bold</b>" in page.locator(".abstract").inner_text()
    page.goto(page.base + "/#/p/1/search?q=trajectories")
    page.wait_for_selector(".hit")
    assert page.locator(".hit-title").first.inner_text().startswith(hostile_title)
    assert page.locator("#search-results script, #search-results img").count() == 0
    assert page.evaluate("window.__pwned") is None


def stage_cell(page, field: str, stage: str = "title_abstract") -> str:
    return text(page, f'#stages-table tr[data-field="{field}"] td[data-stage="{stage}"]')


def open_record(page, project_id: int, record_id: int) -> None:
    page.goto(f"{page.base}/#/p/{project_id}/screen/{record_id}")
    page.wait_for_selector(f'#record[data-record-id="{record_id}"][aria-busy=false] #record-title')


@pytest.mark.browser
def test_blind_double_screening_in_the_browser(open_page, screenshot_dir, service):
    """A maintainer sets up blind double screening in the page (mode, exclusion reasons,
    members, import); two reviewers screen the same records and neither sees the other's
    decision before both have decided; their disagreement reaches the resolver, who settles it
    with the keyboard; progress shows the agreement; full text has its own reasons; a reviewer
    undoes their own decision until the record is final; the audit trail stays blind too."""
    tokens = {name: make_reviewer(service, name, admin=name == "ann") for name in NAMES}

    # The maintainer: a new project, switched to double screening before anyone has screened,
    # with exclusion reasons per stage and three members.
    ann = open_page()
    sign_in(ann, tokens["ann"])
    ann.fill("#project-name", "Double")
    ann.fill("#project-question", QUESTION)
    ann.press("#project-name", "Enter")
    ann.wait_for_selector("#import-form")
    ann.set_input_files("#import-files", [str(RIS)])
    ann.click("#import-form button[type=submit]")
    ann.wait_for_selector("#import-summary")
    ann.click("#project-nav >> text=Settings")
    ann.wait_for_selector("#mode-form")
    assert_controls_labelled(ann)
    ann.check("#mode-double")
    ann.click("#mode-form button[type=submit]")
    ann.wait_for_selector("#mode-form .success")
    ann.fill("#reasons-title_abstract", "Wrong population\nWrong study design")
    ann.fill("#reasons-full_text", "report not retrieved\nWrong outcome")
    ann.click("#reasons-form button[type=submit]")
    ann.wait_for_selector("#reasons-form .success")
    for name, role in (("rita", "reviewer"), ("rob", "reviewer"), ("res", "resolver")):
        ann.fill("#member-name", name)
        ann.select_option("#member-role", role)
        ann.click("#member-form button[type=submit]")
        ann.wait_for_selector(f'#members-table tr[data-member="{name}"]')
    project = service.project("Double")
    pid = project.project_id
    assert project.mode == "double"
    assert project.exclusion_reasons("full_text") == ["report not retrieved", "Wrong outcome"]
    members = {m["reviewer"]: m["role"] for m in service.store.members(pid)}
    assert members == dict(ann="maintainer", rita="reviewer", rob="reviewer", res="resolver")
    ann.locator("#member-name").blur()
    ann.evaluate("window.scrollTo(0, 0)")
    shoot(ann, screenshot_dir, "settings-1366-full", full_page=True)

    # Rita, a reviewer: her one project, screening without the maintainers' controls.
    rita = open_page()
    sign_in(rita, tokens["rita"], "#/projects")
    rita.wait_for_selector(".project-card")
    assert rita.locator("#create-project").count() == 0  # administrators create projects
    assert "Reviewer" in text(rita, ".project-card .project-meta")
    assert rita.locator(".project-card a").all_inner_texts() == ["Double", "Screen", "Progress"]
    rita.click(".project-card a:text-is('Screen')")
    record_ready(rita)
    assert rita.locator("#project-nav .tabs a").all_inner_texts() == [
        "Screen",
        "Progress",
        "Search",
        "History",
        "Synthesis",
        "Map",
    ]
    assert rita.locator("[data-export], #import-form, #audit-table, #retrain").count() == 0
    assert text(rita, "#project-role") == "Reviewer"
    assert "Blind double screening" in text(rita, "#screen-mode")
    decided = []  # the records Rita decides, in order
    rita_decides = (("i", "", ""), ("e", "Wrong population", "adults only"), ("e", "", ""))
    for key, reason, note in rita_decides:
        decided.append(int(rita.locator("#record").get_attribute("data-record-id")))
        if reason:
            rita.select_option("#reason", reason)
        if note:
            rita.fill("#note", note)
        rita.keyboard.press("Escape")
        press_and_wait_for_next(rita, key)
    wait_text(rita, "#stat-mine", "3")
    assert text(rita, "#stat-screened") == "0"  # nothing is final with one decision each
    rita.goto(f"{rita.base}/#/p/{pid}/audit")  # asks the API nothing it would refuse (403)
    assert "needs the maintainer role" in rita.locator("main .notice").inner_text()

    # Rob, before deciding: his queue keeps Rita's records in their places, and nothing of
    # her decisions shows in the queue, the record, the history or the progress.
    def nothing_of_rita(page) -> None:
        # What the view shows, less the reason picker (it lists every reason of the project).
        shown = page.evaluate(
            """() => { const main = document.querySelector('#main').cloneNode(true);
                main.querySelectorAll('select').forEach((s) => s.remove());
                return main.textContent; }"""
        )
        assert not any(word in shown for word in ("rita", "adults only", "Wrong population"))

    rob = open_page()
    sign_in(rob, tokens["rob"], f"#/p/{pid}/screen")
    record_ready(rob)
    assert int(rob.locator("#record").get_attribute("data-record-id")) == decided[0]
    assert rob.locator(".current-decision").count() == 0
    nothing_of_rita(rob)
    open_record(rob, pid, decided[1])
    assert text(rob, ".current-decision") == "Not decided yet."
    assert rob.locator("#reason").input_value() == "" and rob.locator("#note").input_value() == ""
    nothing_of_rita(rob)
    rob.goto(f"{rob.base}/#/p/{pid}/history?who=all")
    rob.wait_for_selector("#history-count")
    assert text(rob, "#history-count") == "0 records"
    nothing_of_rita(rob)
    rob.click("#project-nav >> text=Progress")
    rob.wait_for_selector("#stages-table")
    assert stage_cell(rob, "screened") == "0" and stage_cell(rob, "mine") == "0"
    assert stage_cell(rob, "awaiting_second") == "3"  # how many, never whose or which way
    nothing_of_rita(rob)

    # Rob decides: agrees on the first and third, disagrees on the second.
    for record_id, key, reason in zip(decided, "iie", ("", "", "Wrong study design"), strict=True):
        open_record(rob, pid, record_id)
        if reason:
            rob.select_option("#reason", reason)
            rob.keyboard.press("Escape")
        press_and_wait_for_next(rob, key)

    # The resolver signs in in the same tab after Rob signs out: the conflict with both
    # decisions side by side, settled with the keyboard.
    rob.click("#sign-out")
    rob.wait_for_selector("#login-form")
    res = rob
    res.fill("#token", tokens["res"])
    res.press("#token", "Enter")
    res.wait_for_selector("#session:not([hidden])")
    assert text(res, "#me-name") == "res"
    res.goto(f"{res.base}/#/p/{pid}/conflicts")
    res.wait_for_selector(f'#conflict[data-record-id="{decided[1]}"][aria-busy=false]')
    assert "Conflicts" in res.locator("#project-nav .tabs a").all_inner_texts()
    assert res.locator("[data-export]").count() == 0
    assert text(res, "#conflict-count") == "Conflict 1 of 1 at title/abstract"
    assert res.locator(".decision-side").count() == 2
    rita_side = text(res, '.decision-side[data-reviewer="rita"]')
    assert "Exclude" in rita_side and "Wrong population" in rita_side and "adults only" in rita_side
    assert "Include" in text(res, '.decision-side[data-reviewer="rob"]')
    assert_controls_labelled(res)
    shoot(res, screenshot_dir, "conflicts-1366x768")
    res.set_viewport_size(NARROW)
    assert res.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    shoot(res, screenshot_dir, "conflicts-420")
    res.set_viewport_size(WIDE)
    res.keyboard.press("i")
    wait_text(res, "#conflict-count", "No conflict at title/abstract")
    resolution = service.decisions(pid)[-1]
    assert (resolution["record_id"], resolution["label"]) == (decided[1], "include")
    assert (resolution["origin"], resolution["reviewer"]) == ("resolution", "res")

    # Progress: the agreement of the three pairs (include/include, exclude/include,
    # exclude/exclude) as the API computes it, shown per stage.
    res.click("#project-nav >> text=Progress")
    res.wait_for_selector("#stages-table")
    agreement = service.store.stats(pid)["stages"]["title_abstract"]["agreement"]
    assert agreement == {"pairs": 3, "agreed": 2, "percent_agreement": 66.67, "kappa": 0.4}
    assert stage_cell(res, "pairs") == "3"
    assert stage_cell(res, "percent_agreement") == "66.7\u00a0%"
    assert stage_cell(res, "kappa") == "0.40"
    assert stage_cell(res, "conflicts") == "0" and stage_cell(res, "screened") == "3"
    assert stage_cell(res, "eligible", "full_text") == "2"
    assert text(res, "#stat-agreement").startswith("66.7")
    res.wait_for_function("() => document.querySelector('#prisma-image').naturalWidth > 0")
    res.evaluate("document.querySelector('.team-layout').scrollIntoView()")
    res.evaluate("window.scrollBy(0, -110)")  # the sticky header
    shoot(res, screenshot_dir, "progress-team-1366x768")

    # Full text: the two included records, with the full-text reasons, one of them required.
    rita.goto(f"{rita.base}/#/p/{pid}/screen")
    record_ready(rita)
    rita.click(".stage-switch label:text-is('Full text')")
    rita.wait_for_selector('#reason option[value="Wrong outcome"]', state="attached")
    record_ready(rita)
    full_text = int(rita.locator("#record").get_attribute("data-record-id"))
    assert full_text in decided[:2]
    assert rita.locator("#reason option").all_inner_texts() == [
        "Choose a reason",
        "report not retrieved",
        "Wrong outcome",
    ]
    rita.keyboard.press("e")
    assert "choose one" in rita.locator(".panel-message .error").inner_text()
    assert rita.evaluate("document.activeElement.id") == "reason"
    rita.select_option("#reason", "report not retrieved")
    rita.keyboard.press("Escape")
    press_and_wait_for_next(rita, "e")
    made = service.decisions(pid)[-1]
    assert (made["stage"], made["reason"], made["reviewer"]) == (
        "full_text",
        "report not retrieved",
        "rita",
    )
    # Undo: her own decision, one of two so far, is retracted and the record shown again.
    rita.keyboard.press("u")
    rita.wait_for_selector(f'#record[data-record-id="{full_text}"] .chip-opened')
    assert (service.decisions(pid)[-1]["label"], service.decisions(pid)[-1]["stage"]) == (
        "undecided",
        "full_text",
    )
    # At title/abstract her last decision's record is final now (both excluded): only a
    # resolver changes it, and the page says so.
    rita.click(".stage-switch label:text-is('Title/abstract')")
    wait_text(rita, "#stat-mine", "3")  # the title/abstract view is back
    rita.watch.expect(409)
    rita.keyboard.press("u")
    assert "only a resolver" in rita.locator(".panel-message .error").inner_text()

    # The maintainer: the mode is locked now, and the audit trail leaves out the label and
    # reason of Rita's full-text decision (and its retraction) until a second reviewer decides.
    ann.reload()
    ann.wait_for_selector("#mode-form")
    assert ann.locator("#mode-locked").is_visible() and ann.locator("#mode-double").is_disabled()
    ann.click("#project-nav >> text=Audit")
    ann.wait_for_selector("#audit-table tbody tr")
    hidden = ann.locator("#audit-table tbody tr", has_text="hidden until both reviewers")
    assert hidden.count() == 2
    assert all("report not retrieved" not in row for row in hidden.all_inner_texts())
    assert ann.locator("#audit-table tbody tr", has_text="Conflict resolved").count() == 1


# -- what a reviewer sees is true (issue 13) ------------------------------------------------------

PHONE = {"width": 390, "height": 844}
DESCRIBED = [
    ("Children and adolescents", "Studies of children or adolescents after trauma."),
    ("Military and veterans", "Soldiers, veterans and their families after deployment."),
    ("Disaster survivors", "People who lived through a natural or man-made disaster."),
]


def decision_bodies(page) -> list[dict]:
    """The JSON bodies of the decisions the page posts, as it posts them."""
    bodies: list[dict] = []

    def seen(request) -> None:
        if request.method == "POST" and request.url.endswith("/decisions"):
            bodies.append(request.post_data_json)

    page.on("request", seen)
    return bodies


def screened_project(service, name: str = "seeded", *, decided: int = 120) -> int:
    """A project of the PTSD records, with themes and their descriptions, and ``decided``
    decisions by ann in order: 15 includes among the first 40, one maybe (the 41st), excludes
    after that; returns its id."""
    from index.store import Theme

    project = service.create_project(
        name, QUESTION, [Theme(n, d) for n, d in DESCRIBED], actor="tests"
    )
    service.import_files(name, [RIS])
    make_reviewer(service, "ann", admin=True)
    ids = [r["record_id"] for r in service.records(name, limit=decided)["items"]]
    includes = set(range(0, 40, 40 // 15)[:15])
    for number, record_id in enumerate(ids):
        label = "include" if number in includes else "maybe" if number == 40 else "exclude"
        service.decide(name, record_id, label=label, reviewer="ann")
    return project.project_id


@pytest.mark.browser
def test_theme_suggestions_stay_suggestions(page, screenshot_dir, service):
    """Theme chips start off, whatever the model suggests; a decision carries ``themes`` only
    when the reviewer switched a chip (a key or a click), and only those themes are stored."""
    from index.store import Theme

    service.create_project("themes", QUESTION, [Theme(n, d) for n, d in DESCRIBED])
    service.import_files("themes", [RIS])
    bodies = decision_bodies(page)
    sign_in(page, make_reviewer(service, "ann", admin=True), "#/p/1/screen")
    record_ready(page)
    chips = page.locator(".chip-theme")
    assert chips.count() == len(DESCRIBED)
    assert chips.evaluate_all("cs => cs.map(c => c.getAttribute('aria-pressed'))") == [
        "false"
    ] * len(DESCRIBED)
    assert "off until you accept it" in text(page, "#chips-hint")
    # A suggested chip shows its probability, and stays off all the same.
    for chip in page.locator(".chip-theme.suggested").all():
        assert chip.get_attribute("aria-pressed") == "false"
        assert re.fullmatch(r"\d+\u00a0%", chip.locator(".chip-value").inner_text())
    shoot(page, screenshot_dir, "themes-off-1366x768")

    first = int(page.locator("#record").get_attribute("data-record-id"))
    press_and_wait_for_next(page, "i")  # no chip touched: no themes in the decision
    second = int(page.locator("#record").get_attribute("data-record-id"))
    page.keyboard.press("2")  # accept one theme with its key
    assert chips.nth(1).get_attribute("aria-pressed") == "true"
    chips.nth(2).click()  # and one with a click
    chips.nth(2).click()  # then changes their mind
    press_and_wait_for_next(page, "e")
    assert "themes" not in bodies[0]
    assert bodies[1]["themes"] == [DESCRIBED[1][0]]
    assert service.store.current_themes(1) == {second: [DESCRIBED[1][0]]}
    assert first not in service.store.current_themes(1)

    # Undo of the themed decision withdraws its themes with it; the record shows them again.
    page.keyboard.press("u")
    page.wait_for_selector(f'#record[data-record-id="{second}"] .chip-opened')
    assert service.store.current_themes(1) == {}
    # Deciding again without touching the chips sends no themes.
    press_and_wait_for_next(page, "e")
    assert "themes" not in bodies[-1]
    third = int(page.locator("#record").get_attribute("data-record-id"))
    page.keyboard.press("1")
    press_and_wait_for_next(page, "i")
    assert service.store.current_themes(1) == {third: [DESCRIBED[0][0]]}

    # Settings: a rename keeps the label, a new theme comes with its description.
    page.click("#project-nav >> text=Settings")
    page.wait_for_selector("#settings-themes .theme-edit")
    page.fill("#edit-theme-name-0", "Young people")
    page.press("#edit-theme-name-0", "Enter")
    page.wait_for_selector("#settings-themes .success")
    page.fill("#new-theme-name", "Injury")
    page.fill("#new-theme-description", "Physical injury, accidents, burns")
    page.press("#new-theme-name", "Enter")
    page.wait_for_selector("#edit-theme-name-3")
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "settings-themes-1366x768")
    assert service.store.current_themes(1) == {third: ["Young people"]}
    assert [(t.name, t.description) for t in service.project(1).themes] == [
        ("Young people", DESCRIBED[0][1]),
        *DESCRIBED[1:],
        ("Injury", "Physical injury, accidents, burns"),
    ]
    page.click("#project-nav >> text=Screen")
    record_ready(page)
    assert page.locator(".chip-theme .chip-name").all_inner_texts() == [
        "Young people",
        *(name for name, _ in DESCRIBED[1:]),
        "Injury",
    ]


def estimate_figures(page) -> str:
    return text(page, "#stat-remaining")


@pytest.mark.browser
def test_estimate_counts_and_show_more(page, screenshot_dir, service):
    """The estimate says "too early" until it has evidence and then shows whole numbers with
    the interval beside them and a line on how to read it; "screened" is one count (maybes
    in) on the screening strip, the progress page, the PRISMA diagram and the project card;
    the history's "Show more" goes away once everything is shown."""
    early = screened_project(service, "early", decided=30)
    token = make_reviewer(service, "ann", admin=True)
    sign_in(page, token, f"#/p/{early}/screen")
    record_ready(page)
    page.wait_for_function(
        "() => document.querySelector('#stat-remaining .estimate-value')"
        "?.textContent === 'too early'"
    )
    assert estimate_figures(page).split() == ["too", "early", "about", "70", "more", "decisions"]
    page.click("#project-nav >> text=Progress")
    page.wait_for_selector("#estimate-howto")
    assert text(page, "#estimate-value") == "too early"
    assert text(page, "#estimate-interval") == "about 70 more decisions"
    assert "until they do" in text(page, "#estimate-howto")

    ready = screened_project(service, "ready", decided=120)
    page.goto(f"{page.base}/#/p/{ready}/progress")
    page.wait_for_selector("#estimate-howto")
    value, interval = text(page, "#estimate-value"), text(page, "#estimate-interval")
    assert re.fullmatch(r"≈\u00a0\d+", value), value
    assert re.fullmatch(r"90\u00a0% interval \d+–\d+", interval), interval
    assert "unscreened" in text(page, "#estimate-howto")
    assert not re.search(r"\d\.\d", value + interval)  # never decimals of a count
    # One count of screened records, the maybe in it, everywhere.
    assert text(page, "#stat-screened").startswith("120 / 355")
    prisma = dict(
        zip(
            page.locator("#prisma tbody th").all_text_contents(),
            page.locator("#prisma tbody td").all_text_contents(),
            strict=True,
        )
    )
    assert prisma["Records screened"] == "120" and prisma["Marked maybe"] == "1"
    assert prisma["Awaiting screening"] == str(355 - 120)
    assert page.locator("#prisma-image").get_attribute("alt").count("120 records screened") == 1
    shoot(page, screenshot_dir, "estimate-ready-1366x768")
    page.goto(f"{page.base}/#/p/{ready}/screen")
    record_ready(page)
    wait_text(page, "#stat-screened", "120")
    page.wait_for_function(
        "() => document.querySelector('#stat-remaining')?.dataset.ready === 'true'"
    )
    shoot(page, screenshot_dir, "estimate-strip-1366x768")
    page.click(".brand")
    card = page.locator(f'.project-card[data-project-id="{ready}"]')
    card.locator(".counts-line").wait_for()
    counts = text(page, f'[data-counts="{ready}"] .counts-line')
    assert counts == "120 of 355 records screened (34\u00a0%)"
    assert "15 included · 104 excluded · 1 maybe" in card.inner_text()
    shoot(page, screenshot_dir, "projects-counts-1366x768")

    # History: 120 decided records, 100 a page; "Show more" shows the rest and goes away.
    page.goto(f"{page.base}/#/p/{ready}/history")
    page.wait_for_selector(".history-row")
    more = page.locator("button", has_text="Show more")
    assert page.locator(".history-row").count() == 100 and more.is_visible()
    more.click()
    page.wait_for_function("() => document.querySelectorAll('.history-row').length === 120")
    assert more.is_hidden()
    page.goto(f"{page.base}/#/p/{early}/audit")
    page.wait_for_selector("#audit-table tbody tr")
    assert page.locator("button", has_text="Show more").is_hidden()  # under a page of events


@pytest.mark.browser
def test_search_highlights_words_and_leads_back(page, screenshot_dir, service):
    """Highlighting marks whole words of the question and their forms, never a word that
    only starts the same, nor a stop word; a record opened from search links back to the
    results, and deciding it goes back there."""
    service.create_project("search", QUESTION)
    service.import_files("search", [RIS])
    sign_in(page, make_reviewer(service, "ann", admin=True), "#/p/1/screen")
    record_ready(page)
    marked = page.evaluate(
        """async () => {
          const { highlight, termsOf } = await import('/static/js/dom.js');
          const marks = (text, q) => {
            const box = document.createElement('p');
            box.append(highlight(text, termsOf(q)));
            return [...box.querySelectorAll('mark')].map((m) => m.textContent);
          };
          return [
            marks('Attention deficits defined by drug treatment of the disorder',
                  'attention deficit disorder drug treatment'),
            marks('Trajectories of traumatic stress: a trajectory study', 'trajectories trauma'),
            marks('Children and a child; post-traumatic growth', 'children trauma'),
          ];
        }"""
    )
    assert marked == [
        ["Attention", "deficits"],
        ["Trajectories", "traumatic", "trajectory"],
        ["Children", "child", "post-traumatic"],
    ]

    question = "treatment of trauma in children"
    page.goto(f"{page.base}/#/p/1/search?q={question.replace(' ', '+')}")
    page.wait_for_selector(".hit")
    words = {m.lower() for m in page.locator(".hit-title mark").all_inner_texts()}
    assert words and "treatment" not in words and "of" not in words
    assert all(("trauma" in w) or w.startswith("child") for w in words), words
    hit = page.locator(".hit").nth(1)
    title = hit.locator(".hit-title").inner_text()
    hit.locator(".hit-title").click()
    record_ready(page)
    assert text(page, "#record-title") == title
    back = page.locator("#back-to-search")
    assert back.is_visible()
    back.click()
    page.wait_for_selector(".hit")
    assert page.input_value("#search-q") == question
    page.locator(".hit").nth(1).locator(".hit-title").click()
    record_ready(page)
    page.keyboard.press("e")  # a decision from search goes back to the results
    page.wait_for_selector(".hit")
    assert page.input_value("#search-q") == question
    assert page.locator(".hit").nth(1).locator(".badge-exclude").count() == 1


def fits_width(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
def test_a_390_pixel_screen(page, screenshot_dir, service):
    """At 390 px: a compact header with the whole project name, every tab reachable, and
    nothing wider than the screen: screening, progress (PRISMA, sources), projects, search."""
    pid = screened_project(service, "PTSD trajectories review", decided=12)
    page.set_viewport_size(PHONE)
    sign_in(page, make_reviewer(service, "ann", admin=True), f"#/p/{pid}/screen")
    record_ready(page)
    shoot(page, screenshot_dir, "screening-390")
    fits_width(page, PHONE["width"])
    header = page.locator(".topbar").bounding_box()
    assert header["height"] <= 140, header  # 190 px before, with the name cut
    name = page.locator(".project-name")
    assert name.evaluate("n => n.scrollWidth <= n.clientWidth"), "the project name is cut"
    assert page.locator("#decide-include").bounding_box()["y"] < PHONE["height"]
    for tab in ("Audit", "Settings", "Progress"):
        link = page.locator(f"#project-nav .tabs a:text-is('{tab}')")
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], tab
    page.locator("#project-nav .tabs a:text-is('Progress')").click()
    page.wait_for_function("() => document.querySelector('#prisma-image')?.naturalWidth > 0")
    fits_width(page, PHONE["width"])
    for selector in ("#prisma", "#prisma-image", ".tables .wide"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector
    for wrap in page.locator(".table-wrap").all():  # no table scrolls sideways either
        assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), wrap.inner_text()[:40]
    shoot(page, screenshot_dir, "progress-390", full_page=True)
    page.click(".brand")
    page.wait_for_selector(".counts-line")
    fits_width(page, PHONE["width"])
    shoot(page, screenshot_dir, "projects-390", full_page=True)
    page.goto(f"{page.base}/#/p/{pid}/search?q=children")
    page.wait_for_selector(".hit")
    fits_width(page, PHONE["width"])
