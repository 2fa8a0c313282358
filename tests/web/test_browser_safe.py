"""Safe changes and forms that keep input, in a real browser BY KEYBOARD (Debian's
Chromium driven by Playwright): a nurse stops a medicine, giving a reason, and fixes a
refused form from its error summary. Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Team
from tests.web.test_browser import browser, log_in, page, shot

__all__ = ["browser", "page"]  # the fixtures of test_browser, shared
pytestmark = pytest.mark.browser


def tab_to(page: Page, selector: str, most: int = 80, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches `selector`."""
    for _ in range(most):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


def follow(page: Page, link: str, heading: str) -> None:
    """Tab to a link, press Enter, and wait for the page it opens."""
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def focused(page: Page, selector: str) -> None:
    expect(page.locator(f"{selector}:focus")).to_have_count(1)


def test_a_medicine_is_stopped_with_a_reason_by_keyboard(page: Page, console_url: str,
                                                         teams: tuple[Team, Team]) -> None:
    north, _ = teams
    log_in(page, console_url, north.clinician.email)
    page.goto(f"{console_url}/patients/{north.patient_id}")
    med = north.medication_id
    tab_to(page, f"#med-{med} > summary")
    page.keyboard.press("Enter")                       # open the medicine's details
    follow(page, f"a[href$='/medications/{med}/stop']",
           "Stop Metformin 500 mg for Patient of North Clinic?")
    # No reason: refused, the summary takes the focus and links to the field.
    tab_to(page, "button.danger")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("say why the medicine is stopped")
    focused(page, ".error-summary")
    shot(page, "stop-medicine-no-reason")
    page.keyboard.press("Tab")
    focused(page, "a[href='#stop-reason']")
    page.keyboard.press("Enter")
    tab_to(page, "#stop-reason", most=3)
    page.keyboard.type("side")                          # type-ahead in the select
    expect(page.locator("#stop-reason")).to_have_value("side effects")
    page.keyboard.press("Tab")
    focused(page, "#stop-note")
    page.keyboard.type("rash on both arms")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        "Metformin 500 mg stopped (side effects: rash on both arms)")
    stopped = page.get_by_test_id("stopped-medicines")
    expect(stopped).to_contain_text("North Clinic clinician")
    expect(stopped).to_contain_text("side effects: rash on both arms")
    expect(page.get_by_text(
        "Metformin 500 mg stopped by North Clinic clinician: side effects: rash on both arms"
    )).to_be_visible()
    shot(page, "stop-medicine-history")
    # Undo, by keyboard too.
    follow(page, f"a[href$='/medications/{med}/restart']",
           "Restart Metformin 500 mg for Patient of North Clinic?")
    tab_to(page, "form[action$='/restart'] button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Metformin 500 mg restarted")
    expect(page.get_by_test_id("stopped-medicines")).to_have_count(0)


def test_a_refused_form_is_fixed_by_keyboard(page: Page, console_url: str,
                                             teams: tuple[Team, Team]) -> None:
    north, _ = teams
    log_in(page, console_url, north.clinician.email)
    page.goto(f"{console_url}/patients/new")
    tab_to(page, "#patient-display_name")
    page.keyboard.type("Grace Okafor")
    tab_to(page, "#patient-record_number")
    page.keyboard.type("RN-4711")
    tab_to(page, "#patient-timezone")
    page.keyboard.press("Control+A")
    page.keyboard.type("GMT")
    page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("did you mean 'Europe/London'")
    focused(page, ".error-summary")
    zone = page.locator("#patient-timezone")
    expect(zone).to_have_attribute("aria-invalid", "true")
    expect(zone).to_have_value("GMT")
    expect(page.locator("#patient-display_name")).to_have_value("Grace Okafor")
    expect(page.locator("#patient-record_number")).to_have_value("RN-4711")
    shot(page, "form-error-summary")
    page.keyboard.press("Tab")
    focused(page, "a[href='#patient-timezone']")
    page.keyboard.press("Enter")
    tab_to(page, "#patient-timezone", most=3)
    page.keyboard.press("Control+A")
    page.keyboard.type("Europe/London")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Grace Okafor")).to_be_visible()
    expect(page.locator("#times")).to_contain_text("Times in Europe/London")
    shot(page, "form-error-fixed")
