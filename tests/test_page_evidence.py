"""The evidence map view and the study-type filter of the search view, in headless Chromium
against the real server (the fixtures of tests/test_page.py)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import DATA, make_reviewer
from tests.test_page import (  # noqa: F401 - open_page, page: fixtures
    NARROW,
    assert_controls_labelled,
    fits_width,
    open_page,
    shoot,
    sign_in,
)
from tests.test_page import page as page

THEMES = DATA / "themes" / "cohen_drug_classes.csv"


def themed_project(service, tmp_path: Path, *, ignore_labels: bool = False) -> Counter:
    """60 real records of the Cohen theme set (some with two themes), two of every three
    included (unless ``ignore_labels``: all to screen); returns the included records per
    theme."""
    with THEMES.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    chosen = [r for r in rows if ";" in r["theme"]][:3]
    chosen += [r for r in rows if ";" not in r["theme"]][::37][:57]
    path = tmp_path / "themed.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["record_id", "pmid", "title", "abstract", "themes", "label_included"])
        for i, row in enumerate(chosen):
            fields = [row[k] for k in ("record_id", "pmid", "title", "abstract", "theme")]
            writer.writerow([*fields, int(i % 3 != 2)])
    service.import_files("map", [path], ignore_labels=ignore_labels)
    included = [r for i, r in enumerate(chosen) if i % 3 != 2]
    return Counter(t.strip() for r in included for t in r["theme"].split(";"))


@pytest.mark.browser
def test_the_evidence_map_view(page, screenshot_dir, service, tmp_path):
    per_theme = themed_project(service, tmp_path)
    sign_in(page, make_reviewer(service, "ann", admin=True), "#/p/1/evidence")
    page.wait_for_selector("#evidence-table")
    assert page.locator("#project-nav a[aria-current=page]").inner_text() == "Map"
    totals = {
        row.locator("th").inner_text(): int(row.locator("td.total").inner_text())
        for row in page.locator("#evidence-table tbody tr").all()
    }
    assert {t: n for t, n in totals.items() if n} == dict(per_theme)
    assert f"ADHD n = {per_theme['ADHD']}" in page.locator("#evidence-summary").inner_text()
    headers = page.locator("#evidence-table thead th").all_text_contents()
    assert headers[1:3] == ["Systematic or scoping review", "Randomised trial"]
    # The heat map: the API's SVG, fetched with the token, shown from a blob: URL.
    page.wait_for_function(
        "() => { const i = document.querySelector('#evidence-image');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert page.locator("#evidence-image").get_attribute("src").startswith("blob:")
    assert "ADHD n = " in page.locator("#evidence-image").get_attribute("alt")
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "evidence-map", full_page=True)
    with page.expect_download() as download:
        page.click("button[data-evidence=csv]")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("theme,review,rct,")
    with page.expect_download() as png:
        page.click("button[data-evidence=png]")
    assert Path(png.value.path()).read_bytes().startswith(b"\x89PNG")

    page.click("a[href$='evidence?by=year']")
    page.wait_for_function(
        "() => document.querySelector('#evidence-title')?.textContent.includes('year')"
    )
    page.wait_for_selector("#evidence-table")
    shoot(page, screenshot_dir, "evidence-map-by-year")

    page.set_viewport_size(NARROW)
    page.reload()
    page.wait_for_selector("#evidence-table")
    fits_width(page, NARROW["width"])
    shoot(page, screenshot_dir, "evidence-map-narrow", full_page=True)


@pytest.mark.browser
def test_search_by_study_type(page, screenshot_dir, service, tmp_path):
    themed_project(service, tmp_path)
    pid = service.project("map").project_id
    typed = Counter(t["study_type"] for t in service.store.study_types(pid).values())
    sign_in(page, make_reviewer(service, "ann", admin=True), "#/p/1/search")
    page.wait_for_selector("#search-study-type")
    option = page.locator("#search-study-type option[value=rct]").inner_text()
    assert option == f"Randomised trial ({typed['rct']})"
    page.fill("#search-q", "placebo controlled efficacy")
    page.select_option("#search-study-type", "rct")
    page.click("form.search-form button[type=submit]")
    page.wait_for_selector(".hit")
    assert "study_type=rct" in page.url
    kinds = {k.strip() for k in page.locator(".hit .study-type").all_inner_texts()}
    assert kinds == {"Randomised trial ·"}
    assert page.locator(".hit").count() == min(20, typed["rct"])
    shoot(page, screenshot_dir, "search-by-study-type")


@pytest.mark.browser
def test_a_reviewer_corrects_the_study_type_while_screening(
    page, screenshot_dir, service, tmp_path
):
    themed_project(service, tmp_path, ignore_labels=True)
    pid = service.project("map").project_id
    sign_in(page, make_reviewer(service, "ann", admin=True), "#/p/1/screen")
    page.wait_for_selector("#record[aria-busy=false] #record-title")
    page.wait_for_selector("#record[aria-busy=false] #record-study-type")
    record_id = int(page.locator("#record").get_attribute("data-record-id"))
    stored = service.store.study_types(pid)[record_id]
    assert page.input_value("#record-study-type") == stored["study_type"]
    other = "qualitative" if stored["study_type"] != "qualitative" else "other"
    page.select_option("#record-study-type", other)
    page.wait_for_function(
        "() => document.querySelector('#record-study-type-source')?.textContent"
        " === 'set by a reviewer'"
    )
    assert service.store.study_types(pid)[record_id] == {
        "study_type": other,
        "source": "reviewer",
    }
    # Keys pressed in the select choose a type, never decide the record.
    page.focus("#record-study-type")
    page.keyboard.press("i")
    assert service.store.final_decisions(pid).get(record_id) is None
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "screen-study-type")
