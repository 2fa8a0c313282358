"""The patient list of a 151-patient ward in a real browser (Debian's Chromium driven by
Playwright) at 1366×768, by keyboard only: a nurse filters "missed today", sees who is
most at risk and why, and opens the top patient, whose banner tells them apart (date of
birth, record number, time zone). Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from assistant.storage.db import utcnow
from tests.web.conftest import Team
from tests.web.test_browser import browser, csp_checked, log_in, shot  # noqa: F401 (a fixture)
from tests.web.ward_patients import seed_ward

pytestmark = pytest.mark.browser


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:  # noqa: F811 (the fixture imported above)
    yield from csp_checked(browser, width=1366, height=768)


def _tab_to(page: Page, is_there: str, most: int = 80) -> int:
    """Press Tab until the focused element matches the JavaScript test `is_there` (on `el`);
    returns how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {is_there}; }})()"):
            return presses
    raise AssertionError(f"nothing focused matched {is_there} in {most} tabs")


def test_a_nurse_filters_missed_today_and_opens_the_top_patient_by_keyboard(
        laptop: Page, console_url: str, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    ids = seed_ward(north.id, utcnow())
    log_in(laptop, console_url, north.clinician.email)
    expect(laptop.locator("table.ward tbody tr")).to_have_count(50)
    expect(laptop.locator("table.ward tbody tr").first).to_contain_text("urgent: BP 182/110")
    shot(laptop, "test_patient_list_most_at_risk")

    _tab_to(laptop, "el.id === 'only'")
    laptop.keyboard.type("missed")          # the select's type-ahead picks "missed today"
    expect(laptop.locator("#only")).to_have_value("missed_today")
    _tab_to(laptop, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Show'")
    laptop.keyboard.press("Enter")
    expect(laptop).to_have_url(re.compile(r"only=missed_today"))
    rows = laptop.locator("table.ward tbody tr")
    expect(rows.first).to_contain_text("Tomas Weber")
    expect(rows.first).to_contain_text("3 missed in a row")
    expect(laptop.get_by_text("Lena Fischer")).to_be_visible()
    expect(laptop.locator("#count")).to_contain_text("missed today")
    shot(laptop, "test_patient_list_missed_today")

    _tab_to(laptop, "el.closest && el.closest('table.ward tbody') !== null")
    expect(laptop.locator(":focus")).to_have_text("Tomas Weber")
    laptop.keyboard.press("Enter")
    expect(laptop).to_have_url(f"{console_url}/patients/{ids['Tomas Weber']}")
    banner = laptop.get_by_role("banner", name="Patient banner").or_(
        laptop.locator("header.banner"))
    expect(banner.first).to_contain_text("Tomas Weber")
    expect(banner.first).to_contain_text("Record number")
    expect(banner.first).to_contain_text("Time zone")
    expect(banner.first).to_contain_text("UTC")
    shot(laptop, "test_a_nurse_filters_missed_today_and_opens_the_top_patient_by_keyboard")
