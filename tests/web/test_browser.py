"""The console in a real browser (Debian's Chromium driven by Playwright): a nurse logs
in, adds a patient and a medication with its schedule, sees the weekly view, issues an
enrolment code and acknowledges an alert, with nothing blocked by the console's
Content-Security-Policy. Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.config import PROJECT_DIR
from assistant.storage.db import session
from assistant.storage.models import Alert, AlertKind, AlertSeverity
from tests.web.conftest import PASSWORD, Team

CHROMIUM = os.environ.get("CARELOOP_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = PROJECT_DIR / "artifacts" / "screenshots"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; the test fails if the Content-Security-Policy blocked anything on it."""
    yield from csp_checked(browser, width=1280, height=900)


def csp_checked(browser: Browser, *, width: int, height: int) -> Iterator[Page]:
    """A fresh page of that size, then a failure if the Content-Security-Policy blocked
    anything on it."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert refused == [], refused


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/patients")
    expect(page).to_have_url(f"{base}/login?next=/patients")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def test_a_wrong_password_is_refused(page: Page, console_url: str,
                                     teams: tuple[Team, Team]) -> None:
    page.goto(f"{console_url}/login")
    page.get_by_label("Email").fill(teams[0].clinician.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    shot(page, "login")


def test_a_nurse_enrols_a_patient_with_a_schedule(page: Page, console_url: str,
                                                  teams: tuple[Team, Team]) -> None:
    log_in(page, console_url, teams[0].clinician.email)
    page.get_by_role("link", name="Add a patient").click()
    new = page.locator("form[method=post][action='/patients']")
    new.get_by_label("Name").fill("Grace Hopper")
    new.get_by_label("Time zone").fill("Europe/Lisbon")
    new.get_by_label("Conditions").fill("hypertension")
    new.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()

    add = page.locator("form[action$='/medications']")
    add.get_by_label("Name").fill("Amlodipine")
    add.get_by_label("Strength").fill("5 mg")
    add.get_by_label("Instructions").fill("with breakfast")
    add.get_by_label("Times").fill("08:00, 20:30")
    for day in ("mon", "wed", "fri"):
        add.get_by_label(day, exact=True).check()
    add.get_by_role("button", name="Add medication").click()
    expect(page.get_by_role("status")).to_have_text("Amlodipine 5 mg added.")

    week = page.get_by_role("table", name="weekly view")
    row = week.get_by_role("row").filter(has_text="Amlodipine 5 mg")
    expect(row).to_contain_text("with breakfast")
    headers = week.locator("thead th").all_inner_texts()[1:]
    cells = row.locator("td").all_inner_texts()[1:]
    for header, cell in zip(headers, cells, strict=True):
        expected = "08:00\n20:30" if header[:3] in ("Mon", "Wed", "Fri") else ""
        assert cell.strip() == expected, (header, cell)
    shot(page, "patient")

    page.get_by_text("Amlodipine 5 mg —").click()  # open its details
    label = page.locator("form[action$='/label']")
    label.get_by_label("Instructions", exact=True).fill("with breakfast, swallow whole")
    label.get_by_label("If a dose is missed").fill("Take it when you remember, not two at once.")
    label.get_by_role("button", name="Save label").click()
    expect(row).to_contain_text("swallow whole")
    page.get_by_text("Amlodipine 5 mg —").click()
    expect(page.locator("form[action$='/label']").get_by_label("If a dose is missed")
           ).to_have_value("Take it when you remember, not two at once.")

    page.get_by_role("button", name="Issue an enrolment code").click()
    code = page.get_by_test_id("enrol-code").inner_text()
    assert len(code) == 10
    expect(page.get_by_test_id("enrol-link")).to_have_text(
        f"https://t.me/CareLoopBot?start={code}")
    expect(page.get_by_label("QR code of the link").locator("svg")).to_be_visible()
    shot(page, "enrolment-code")

    page.goto(f"{console_url}/patients")
    expect(page.get_by_role("row").filter(has_text="Grace Hopper")).to_contain_text("not linked")
    shot(page, "patients")


def test_the_time_zone_is_chosen_from_the_places_list(page: Page, console_url: str,
                                                      teams: tuple[Team, Team]) -> None:
    log_in(page, console_url, teams[0].clinician.email)
    page.get_by_role("link", name="Add a patient").click()
    new = page.locator("form[method=post][action='/patients']")
    field = new.get_by_label("Time zone")
    offered = page.locator(f"datalist#{field.get_attribute('list')} option").evaluate_all(
        "options => options.map(option => option.value)")
    assert offered[0] == "UTC"  # the default for new patients (CARELOOP_TIMEZONE) first
    assert {"Europe/London", "Europe/Lisbon", "America/New_York", "Asia/Kolkata"} <= set(offered)
    assert not {"GB", "GMT", "US/Eastern", "Etc/GMT+1"} & set(offered)
    expect(field).to_have_value("UTC")

    new.get_by_label("Name").fill("Harold")
    field.fill("GMT")
    new.get_by_role("button", name="Add patient").click()
    # The same form again, as typed, the message in the summary and at the field.
    expect(page.get_by_role("alert")).to_contain_text(
        "did you mean 'Europe/London' (UK time) or 'UTC'?")
    expect(new.get_by_label("Name")).to_have_value("Harold")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("Europe/London")
    new.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("heading", name="Harold")).to_be_visible()
    expect(page.locator("#times")).to_contain_text("Times in Europe/London")

    profile = page.locator("form[action$='/profile']")
    zone = profile.get_by_label("Time zone")
    expect(zone).to_have_value("Europe/London")
    assert page.locator(f"datalist#{zone.get_attribute('list')} option").count() > 400
    zone.fill("Europe/Dublin")
    profile.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Profile saved.")
    expect(page.locator("#times")).to_contain_text("Times in Europe/Dublin")
    shot(page, "patient-time-zone")


def test_a_nurse_acknowledges_an_alert(page: Page, console_url: str,
                                       teams: tuple[Team, Team]) -> None:
    north, _ = teams
    with session() as db:
        db.add_all([
            Alert(patient_id=north.patient_id, team_id=north.id, kind=AlertKind.missed_doses,
                  summary="2 missed doses in a row: Metformin 500 mg"),
            Alert(patient_id=north.patient_id, team_id=north.id, kind=AlertKind.emergency,
                  severity=AlertSeverity.urgent, summary="Red-flag message: chest pain")])
    log_in(page, console_url, north.clinician.email)
    page.get_by_role("link", name="Alerts").click()
    alerts = page.locator("article[data-alert]")
    expect(alerts.first).to_contain_text("chest pain")  # urgent first
    shot(page, "alerts")
    missed = alerts.filter(has_text="missed doses")
    missed.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    expect(page.locator("article[data-alert]")).to_have_count(1)  # the open ones left
    page.get_by_role("link", name="acknowledged").click()
    expect(page.locator("article[data-alert]").filter(has_text="missed doses")).to_contain_text(
        "acknowledged")


def test_admin_pages_render(page: Page, console_url: str, teams: tuple[Team, Team]) -> None:
    log_in(page, console_url, teams[0].admin.email)
    page.get_by_role("link", name="Team settings").click()
    page.get_by_label("glucose high").fill("10")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Team settings saved.")
    expect(page.get_by_label("glucose high")).to_have_value("10.0")
    shot(page, "settings")
    page.get_by_role("link", name="Advice library").click()
    page.get_by_label("Title").last.fill("Walk after meals")
    page.locator("textarea[name=body]").last.fill("A 10-minute walk after dinner helps.")
    page.get_by_role("button", name="Add advice").click()
    expect(page.get_by_role("status")).to_have_text("Advice saved.")
    shot(page, "advice")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("cell", name="team.update")).to_be_visible()
    shot(page, "audit")
