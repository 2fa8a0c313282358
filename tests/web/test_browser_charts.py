"""The patient's monitoring charts and targets in a real browser (Debian's Chromium driven
by Playwright) at 1366×768: an SVG chart per measure with its bands and alert markers, and
a nurse choosing a preset, confirming it and seeing the saved values. Screenshots go to
artifacts/screenshots/patient-charts-*.png (a CI artifact)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import Team
from tests.web.test_browser import SHOTS, browser, csp_checked, log_in  # noqa: F401 (a fixture)
from tests.web.test_patient_monitoring import seed

pytestmark = pytest.mark.browser


@pytest.fixture
def wide(browser: Browser) -> Iterator[Page]:  # noqa: F811 (the fixture imported above)
    """A page at a common laptop size; fails if the Content-Security-Policy blocked anything."""
    yield from csp_checked(browser, width=1366, height=768)


def test_a_nurse_reads_the_charts_and_confirms_a_preset(
        wide: Page, console_url: str, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    seed(north.patient_id, north.id)
    log_in(wide, console_url, north.clinician.email)
    wide.goto(f"{console_url}/patients/{north.patient_id}#monitoring")
    for measure in ("weight", "blood_pressure", "glucose"):
        chart = wide.locator(f"svg.mchart[data-measure={measure}]")
        expect(chart).to_be_visible()
        assert chart.locator("circle.dot").count() >= 30
        # Bands where a target is in force (CareLoop's defaults: not for weight); the
        # baseline where a trend is watched.
        assert chart.locator("rect.band").count() >= (0 if measure == "weight" else 1)
    expect(wide.locator("svg.mchart[data-measure=weight] line.baseline")).to_have_count(1)
    glucose = wide.locator("svg.mchart[data-measure=glucose]")
    expect(glucose.locator("g.marker.urgent")).to_have_count(1)
    assert (glucose.get_attribute("aria-label") or "").startswith(
        "glucose, last 30 days: 30 readings; last ")
    wide.locator("#monitoring").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    wide.screenshot(path=SHOTS / "patient-charts-30d.png")
    wide.get_by_role("link", name="90 days").click()
    expect(wide.locator("svg.mchart[data-measure=glucose] title").first).to_contain_text(
        "glucose, last 90 days")

    wide.get_by_label("Start from a condition preset").select_option("hypertension")
    wide.get_by_role("button", name="Show suggested values").click()
    expect(wide.get_by_text("not saved until you confirm")).to_be_visible()
    expect(wide.get_by_text("ACC/AHA", exact=False).first).to_be_visible()
    urgent = wide.get_by_label("blood pressure urgent high", exact=True)
    expect(urgent).to_have_value("180")
    wide.locator("#targets").scroll_into_view_if_needed()
    wide.screenshot(path=SHOTS / "patient-charts-preset.png")
    wide.get_by_role("button", name="Confirm the hypertension preset and save").click()
    expect(wide.get_by_role("status")).to_contain_text("hypertension preset confirmed")
    row = wide.locator("table.targets tr").filter(has_text="blood pressure")
    expect(row.first).to_contain_text("patient's own")
    expect(wide.get_by_label("blood pressure diastolic urgent high", exact=True)
           ).to_have_value("120")
    wide.screenshot(path=SHOTS / "patient-charts-targets-saved.png", full_page=True)
