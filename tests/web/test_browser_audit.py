"""The audit log in a real browser BY KEYBOARD (Debian's Chromium driven by Playwright): an
admin narrows the log to one member's patient views and gets the CSV of just those.
Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from assistant.services import audit
from assistant.storage.db import session
from tests.web.conftest import Team
from tests.web.test_browser import browser, log_in, page, shot
from tests.web.test_browser_safe import follow, tab_to

__all__ = ["browser", "page"]  # the fixtures of test_browser, shared
pytestmark = pytest.mark.browser


def test_an_admin_filters_the_log_to_one_member_by_keyboard(page: Page, console_url: str,
                                                             teams: tuple[Team, Team]) -> None:
    north, _ = teams
    with session() as db:
        for _ in range(3):
            audit.record(db, actor=f"member:{north.clinician.id}", action="patient.view",
                         patient_id=north.patient_id)
        audit.record(db, actor=f"member:{north.admin.id}", action="patient.update",
                     patient_id=north.patient_id)
    log_in(page, console_url, north.admin.email)
    follow(page, "header a[href='/audit']", "Audit log")
    tab_to(page, "#f-member")
    page.keyboard.press("ArrowDown")   # from "anyone" to the first member by name
    while "clinician" not in page.locator("#f-member option:checked").inner_text():
        page.keyboard.press("ArrowDown")
    tab_to(page, "#f-action")
    page.keyboard.type("patient.view")  # a select takes typed letters to its option
    tab_to(page, "main form button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"member=\d+.*action=patient\.view"))
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(3)
    for row in rows.all():
        expect(row).to_contain_text("North Clinic clinician")
        expect(row).to_contain_text("patient.view")
    csv = page.get_by_role("link", name="Download these 3 entries as CSV")
    expect(csv).to_have_attribute("href", re.compile(r"^/audit\.csv\?.*member=\d+"))
    shot(page, "audit-filtered-by-keyboard")
