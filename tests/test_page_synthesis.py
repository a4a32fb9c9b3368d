"""The synthesis view in headless Chromium: a maintainer proposes themes in the included
records, renames and merges proposals into project themes, reads each theme's representative
records with their reasons and marks the final selection; a reviewer sees proposals but
cannot accept them. Real records of the Cohen drug-class theme set."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import make_reviewer
from tests.test_discovery import theme_rows
from tests.test_page import (  # noqa: F401 (fixtures)
    assert_controls_labelled,
    open_page,
    page,
    shoot,
    sign_in,
)

FOUR = ("Triptans", "ADHD", "Estrogens", "Antihistamines")


def synthesis_project(service, tmp_path: Path) -> int:
    path = tmp_path / "syn.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "pmid", "label_included"])
        for row in theme_rows(FOUR, per_theme=12):
            writer.writerow([row["title"], row["abstract"], row["pmid"], 1])
    project = service.create_project("syn")
    service.import_files("syn", [path])
    return project.project_id


@pytest.mark.browser
def test_discover_accept_merge_and_select(page, open_page, screenshot_dir, service, tmp_path):  # noqa: F811
    pid = synthesis_project(service, tmp_path)
    sign_in(page, make_reviewer(service, "ann", admin=True), f"#/p/{pid}/synthesis")
    page.wait_for_selector("#discover")
    assert page.locator(".tabs a", has_text="Synthesis").get_attribute("aria-current") == "page"
    page.wait_for_selector("#picks >> text=No themes yet")
    page.click("#discover")
    page.wait_for_selector(".proposal")
    proposals = page.locator(".proposal")
    count = proposals.count()
    assert count >= 2
    first = proposals.nth(0)
    assert first.locator(".proposal-titles li").count() >= 1
    assert first.locator(".proposal-terms").inner_text().strip()
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "synthesis-proposals", full_page=True)

    # The first proposal renamed and accepted alone; the next two merged into one theme.
    first.locator(".proposal-name").fill("Chosen theme")
    first.locator(".proposal-pick").check()
    page.click("#accept")
    page.wait_for_selector(".notice >> text=Chosen theme")
    page.wait_for_selector('.theme-picks[data-theme="Chosen theme"] .pick')
    page.click("#discover")
    page.wait_for_selector(".proposal")
    page.locator(".proposal").nth(1).locator(".proposal-name").fill("Merged theme")
    for i in (1, 2) if count > 2 else (1,):
        page.locator(".proposal").nth(i).locator(".proposal-pick").check()
    page.click("#merge")
    page.wait_for_selector(".notice >> text=Merged theme")
    themes = [t.name for t in service.project("syn").themes]
    assert themes == ["Chosen theme", "Merged theme"]
    assert service.store.current_themes(pid) == {}  # suggestions, not labels

    # Picks with their reasons; one selected, counted, and taken out again.
    section = page.locator('.theme-picks[data-theme="Chosen theme"]')
    section.locator(".pick").first.wait_for()
    assert "central to the theme" in section.locator(".pick-reason").first.inner_text()
    toggle = section.locator(".pick-toggle").first
    toggle.click()
    page.wait_for_selector('.pick-toggle[aria-pressed="true"]')
    page.wait_for_function(
        "() => document.querySelector('#selection-counts').textContent.includes('1 record')"
    )
    assert len(service.store.selected_picks(pid)) == 1
    shoot(page, screenshot_dir, "synthesis-picks", full_page=True)
    toggle.click()
    page.wait_for_selector('.pick-toggle[aria-pressed="false"]')
    page.wait_for_function(
        "() => document.querySelector('#selection-counts').textContent.includes('0 records')"
    )
    assert service.store.selected_picks(pid) == []
    page.check("#reviews-first")
    section.locator(".pick").first.wait_for()

    # On the record, the discovered theme is a suggested chip, off until a reviewer takes it.
    member = int(section.locator(".pick").first.get_attribute("data-record"))
    page.goto(f"{page.base}/#/p/{pid}/screen/{member}")
    chip = page.locator(".chip-theme.suggested", has_text="Chosen theme")
    chip.wait_for()
    assert chip.get_attribute("aria-pressed") == "false"
    assert "null" not in page.locator(".record-top").inner_text()
    shoot(page, screenshot_dir, "synthesis-suggested-chip")

    # A reviewer sees proposals and picks, without accept or select buttons.
    service.store.create_reviewer("bob")
    service.store.set_member(pid, "bob", "reviewer")
    other = open_page()
    sign_in(other, make_reviewer(service, "bob"), f"#/p/{pid}/synthesis")
    other.wait_for_selector(".theme-picks .pick")
    assert other.locator(".pick-toggle").count() == 0
    other.click("#discover")
    other.wait_for_selector(".proposal")
    assert other.locator("#accept").count() == 0 and other.locator(".proposal-pick").count() == 0
