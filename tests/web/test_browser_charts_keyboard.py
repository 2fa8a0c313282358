"""The adherence chart read by keyboard in a real browser (Debian's Chromium driven by
Playwright) at 1366×768: a day with no dose taken is a tall red bar, Tab reaches the table
behind the chart, Enter opens it and the missed day reads "0 of 1"; the "16 missed" link
leads to the list of every missed dose. Screenshots: artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Team
from tests.web.test_browser import SHOTS, browser, log_in  # noqa: F401 (a fixture)
from tests.web.test_browser_charts import wide  # noqa: F401 (a fixture)
from tests.web.test_charts_page import MISSED_DAYS, day_of, seed_patient

pytestmark = pytest.mark.browser


def tab_to(page: Page, name: str, most: int = 60) -> int:
    """Press Tab until the element named `name` has the focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            return presses
    raise AssertionError(f"{name!r} not reached in {most} presses of Tab")


def test_a_nurse_opens_the_adherence_table_by_keyboard_and_reads_a_missed_day(
        wide: Page, console_url: str, teams: tuple[Team, Team]) -> None:  # noqa: F811
    north, _ = teams
    ward = seed_patient(north.id)
    log_in(wide, console_url, north.clinician.email)
    wide.goto(f"{console_url}/patients/{ward.patient_id}")
    expect(wide.get_by_text("Times in America/New_York")).to_be_visible()

    chart = wide.get_by_role("img", name="Daily adherence, last 30 days")
    expect(chart).to_be_visible()
    red = chart.locator("g.day.zero rect.missed")
    expect(red).to_have_count(len(MISSED_DAYS))
    box = red.first.bounding_box()
    assert box is not None and box["height"] > 50, box      # a tall bar, not a sliver
    assert wide.evaluate("getComputedStyle(document.querySelector("
                         "'g.day.zero rect.missed')).fill") == "rgb(217, 45, 32)"

    tab_to(wide, "Table of doses per day")
    wide.keyboard.press("Enter")
    table = wide.get_by_role("table", name="Doses per day, newest first")
    expect(table).to_be_visible()
    row = table.locator(f"tr:has(time[datetime='{day_of(ward, MISSED_DAYS[0])}'])")
    expect(row).to_contain_text("0 of 1")
    expect(row.locator("td").nth(1)).to_have_text("0 %")
    row.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    wide.screenshot(path=SHOTS / "adherence-table-by-keyboard.png")

    expect(wide.locator(":focus")).to_have_text("Table of doses per day")
    wide.keyboard.press("Shift+Tab")                         # back to the summary line's link
    expect(wide.locator(":focus")).to_have_text(f"{len(MISSED_DAYS)} missed")
    wide.keyboard.press("Enter")
    expect(wide).to_have_url(f"{console_url}/patients/{ward.patient_id}#missed")
    missed = wide.locator("ul.missed li")
    expect(missed).to_have_count(len(MISSED_DAYS))
    expect(missed.first).to_contain_text("Lisinopril 10 mg at 09:00")
    wide.screenshot(path=SHOTS / "adherence-missed-list.png")
