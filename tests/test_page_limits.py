"""The protocol's search limits in the browser: a maintainer sets the search string, years and
languages on the settings view, sees how many records are outside them, excludes those in one
action, and a record outside the limits is flagged where it is screened. Real records: ASReview's
PubMed XML test file (8 English articles of 2002-2019, 2 Japanese ones of 1985 and 1968)."""

from __future__ import annotations

import pytest

from index.limits import AUTOMATION_REVIEWER, LIMITS_REASON
from tests.conftest import DATA, make_reviewer
from tests.test_page import (  # noqa: F401  (fixtures)
    assert_controls_labelled,
    open_page,
    open_record,
    page,
    shoot,
    sign_in,
    text,
)

PUBMED_XML = DATA / "import" / "asreview_demo_data_historic" / "pubmed.xml"
# The PTSD review's RIS: 355 unique records, 2 of them published before 1990.
PTSD_RIS = DATA / "import" / "van_de_Schoot_2017" / "schoot-lgmm-ptsd-included-1.ris"


@pytest.mark.browser
def test_search_limits_on_the_settings_view(page, screenshot_dir, service):  # noqa: F811
    service.create_project("pubmed", "Odontogenic tumours of the jaw")
    service.import_files("pubmed", [PUBMED_XML])
    pid = service.project("pubmed").project_id
    sign_in(page, make_reviewer(service, "ann", admin=True), f"#/p/{pid}/settings")
    page.wait_for_selector("#settings-limits #limits-summary")
    page.wait_for_function(
        "() => document.querySelector('#limits-summary').textContent.startsWith('No limits')"
    )

    # A language that is none: the API's problem names it, nothing is saved.
    page.watch.expect(400)
    page.fill("#protocol-languages", "Elvish")
    page.click("#protocol-form button[type=submit]")
    page.wait_for_selector("#settings-limits .error")
    assert "Elvish" in text(page, "#settings-limits .error")
    assert "protocol" not in service.project(pid).settings

    page.fill("#protocol-search", '"odontogenic tumor" AND jaw')
    page.fill(
        "#protocol-searches",
        "MEDLINE | 2024-05-01 | odontogenic[tiab] AND jaw[tiab]\nEmbase | 2024-05-02 | odontogenic",
    )
    page.fill("#protocol-years-from", "1990")
    page.fill("#protocol-languages", "English")
    page.click("#protocol-form button[type=submit]")
    page.wait_for_selector("#limits-banner #apply-limits")
    assert service.project(pid).settings["protocol"] == {
        "search_string": '"odontogenic tumor" AND jaw',
        "searches": [
            {
                "database": "MEDLINE",
                "date": "2024-05-01",
                "string": "odontogenic[tiab] AND jaw[tiab]",
            },
            {"database": "Embase", "date": "2024-05-02", "string": "odontogenic"},
        ],
        "years_from": 1990,
        "languages": ["eng"],
    }
    assert page.input_value("#protocol-languages") == "eng"  # as stored
    assert text(page, "#limits-summary").startswith(
        "10 records: 8 within the search limits, 2 outside"
    )
    assert "2 records outside the search limits" in text(page, "#limits-banner")
    assert text(page, "#apply-limits") == "Exclude 2 records"
    assert_controls_labelled(page)
    shoot(page, screenshot_dir, "settings-limits-1366x768", full_page=True)

    # A record outside the limits is flagged where it is screened, before anyone acts.
    outside = service.store.limits_report(pid)["to_exclude_ids"]
    open_record(page, pid, outside[0])
    flag = text(page, "#record .limits-flag")
    assert flag == "Outside search limits: published 1985, before 1990; language jpn, not eng"
    shoot(page, screenshot_dir, "record-outside-limits-1366x768")

    # The one action: both excluded by the automation, with the reason, removed before screening.
    page.goto(f"{page.base}/#/p/{pid}/settings")
    page.click("#apply-limits")
    page.wait_for_selector("#settings-limits .success")
    assert text(page, "#settings-limits .success").startswith(
        "Excluded 2 records as “outside search limits”"
    )
    page.wait_for_function("() => !document.querySelector('#limits-banner')")
    assert "(2 removed before screening" in text(page, "#limits-summary")
    finals = service.store.final_decisions(pid)
    assert {(finals[r]["reviewer"], finals[r]["reason"]) for r in outside} == {
        (AUTOMATION_REVIEWER, LIMITS_REASON)
    }
    assert service.store.stats(pid)["removed_outside_limits"] == 2

    # An import into the project says how many new records are outside the limits.
    page.click("#project-nav >> text=Import")
    page.wait_for_selector("#import-form")
    page.set_input_files("#import-files", [str(PTSD_RIS)])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert text(page, "#import-outside-limits").startswith(
        "2 new records are outside the search limits"
    )
    assert service.store.limits_report(pid)["to_exclude"] == 2

    # The progress view: removed before screening, not among the records to screen.
    page.click("#project-nav >> text=Progress")
    page.wait_for_selector("#stat-screened")
    flow = text(page, ".flow")
    assert "Outside the search limits, removed\n2" in flow
    # 10 + 355 unique records less the 2 removed (the 2 new ones outside wait for the action)
    assert "Records to screen\n363" in flow
