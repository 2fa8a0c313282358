"""The alerts worklist in a real browser on a seeded ward (150 patients, 300 alerts),
done by keyboard only (Tab, typing, Enter): filter to the unassigned urgent alerts, assign
one to me, then acknowledge and resolve it; after each action the page comes back to the
same filters with the alert in view. Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.web.conftest import Team
from tests.web.test_browser import browser, csp_checked, log_in, shot  # noqa: F401 (a fixture)
from tests.web.ward import seed_ward

pytestmark = pytest.mark.browser


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:  # noqa: F811 (the fixture imported above)
    """A nurse's laptop screen."""
    yield from csp_checked(browser, width=1366, height=768)


def tab_to(page: Page, target: Locator, limit: int = 300) -> None:
    """Press Tab until `target` has the focus (as a keyboard user gets there)."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", handle):
            return
    raise AssertionError(f"{target} never got the focus by Tab")


def choose(page: Page, select: Locator, text: str) -> None:
    """Pick an option of a focused <select> by typing its start, as a keyboard user does."""
    tab_to(page, select)
    page.keyboard.type(text)


def test_a_nurse_works_the_urgent_alerts_by_keyboard(laptop: Page, console_url: str,
                                                     teams: tuple[Team, Team]) -> None:
    north, _ = teams
    ward = seed_ward(north.id, [north.admin.id, north.clinician.id])
    page = laptop
    log_in(page, console_url, north.clinician.email)
    page.goto(f"{console_url}/alerts")
    filters = page.get_by_role("search", name="Filter alerts")
    choose(page, filters.get_by_label("Severity"), "urgent")
    choose(page, filters.get_by_label("Assigned to"), "unassigned")
    tab_to(page, filters.get_by_role("button", name="Filter"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"severity=urgent&assignee=unassigned"))
    cards = page.locator("article[data-alert]")
    expect(cards.first).to_be_visible()
    shot(page, "worklist_unassigned_urgent")
    expect(page.get_by_test_id("worklist-summary")).to_contain_text(
        f"{len(ward.urgent_unassigned)} alerts for")
    first = cards.first
    alert_id = first.get_attribute("data-alert")
    filtered = page.url

    # Assign it to me: it leaves the unassigned list, the filters stay.
    expect(first.get_by_label("Assign to")).to_have_value("")   # "— choose —"
    choose(page, first.get_by_label("Assign to"), "North Clinic clinician")
    tab_to(page, first.get_by_role("button", name="Assign"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Alert assigned.")
    expect(page).to_have_url(f"{filtered}#alert-{alert_id}")
    moved = page.locator(f"#alert-{alert_id}")   # a line in its place says where it went
    expect(moved).to_contain_text("now open, assigned to North Clinic clinician, so it no "
                                  "longer matches these filters")
    expect(moved).to_be_in_viewport()

    # My urgent alerts, all statuses: acknowledge it, then resolve it.
    choose(page, filters.get_by_label("Assigned to"), "me")
    tab_to(page, filters.get_by_role("button", name="Filter"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("navigation", name="Alert status")
           .get_by_role("link", name=re.compile(r"^all")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=all&severity=urgent&assignee=me"))
    mine = page.url
    card = page.locator(f"#alert-{alert_id}")
    tab_to(page, card.get_by_role("button", name=re.compile("^Acknowledge")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{mine}#alert-{alert_id}")
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Alert acknowledged"))
    expect(card).to_contain_text("acknowledged by North Clinic clinician")
    expect(card).to_be_in_viewport()
    tab_to(page, card.get_by_label("How it was resolved"))
    page.keyboard.type("called the patient, sent to A&E")
    tab_to(page, card.get_by_role("button", name=re.compile(r"— useful$")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{mine}#alert-{alert_id}")
    expect(card).to_contain_text(re.compile(r"Resolved by North Clinic clinician at .*: "
                                            r"called the patient, sent to A&E"))
    expect(card).to_be_in_viewport()
    shot(page, "worklist_resolved_by_keyboard")
