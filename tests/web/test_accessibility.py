"""WCAG 2.2 AA in a real browser (Debian's Chromium): axe-core runs on every page of the
console (the routes are read from the app, so a new page without a check here fails)
and finds nothing; by keyboard, the skip link is the first stop and takes the focus to
the page's main content. Screenshots go to artifacts/screenshots/a11y-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from playwright.sync_api import FilePayload, Page, expect
from sqlmodel import select

from assistant.interfaces.web.pages import router
from assistant.storage.db import session, utcnow
from assistant.storage.models import AdviceItem, Alert, AlertKind, AlertSeverity, ApiToken
from tests.web.conftest import Team, login
from tests.web.test_browser import (  # noqa: F401 (fixtures)
    SHOTS,
    browser,
    log_in,
    page,
)
from tests.web.test_patient_monitoring import seed

TEMPLATES = Path(__file__).parents[2] / "assistant" / "interfaces" / "web" / "templates"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
_AXE = Axe()


@dataclass(frozen=True)
class Visit:
    """A console page and how a nurse reaches it (logged in unless `public`)."""

    name: str
    route: str          # the GET route it is, or the route of the form that renders it
    template: str
    go: Callable[[Page, str, Team], None]
    public: bool = False


def _get(path: str) -> Callable[[Page, str, Team], None]:
    def go(tab: Page, base: str, team: Team) -> None:
        tab.goto(base + path.format(**_ids(team)))
    return go


def _ids(team: Team) -> dict[str, int]:
    """The ids a route's path names, for the team's own patient, medicine and members."""
    return {"pid": team.patient_id, "patient_id": team.patient_id,
            "medication_id": team.medication_id, "member_id": team.clinician.id}


def _login_failed(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/login")
    tab.get_by_label("Email").fill(team.clinician.email)
    tab.get_by_label("Password").fill("not the password")
    tab.get_by_role("button", name="Log in").click()
    expect(tab.get_by_role("alert")).to_be_visible()


def _enrol(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/patients/{team.patient_id}")
    tab.get_by_role("button", name="Issue an enrolment code").click()
    expect(tab.get_by_test_id("enrol-code")).to_be_visible()


def _upload(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/patients/{team.patient_id}")
    tab.locator("input[type=file][name=file]").set_input_files(files=FilePayload(
        name="readings.csv", mimeType="text/csv",
        buffer=b"effective_at,measure,value,value2,unit,device,identifier\n"
               b"2026-11-01T08:00:00Z,glucose,6.1,,mmol/L,,\nyesterday,glucose,,,,,\n"))
    tab.get_by_role("button", name="Upload").click()
    expect(tab.get_by_role("heading", name=re.compile("Readings uploaded"))).to_be_visible()


def _targets_refused(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/patients/{team.patient_id}#targets")
    tab.locator("form[action$='/targets'] input[inputmode=decimal]").first.fill("abc")
    tab.get_by_role("button", name="Save targets").click()
    expect(tab.locator("#targets [role=alert]")).to_be_visible()


def _new_token(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/tokens")
    tab.get_by_label("Name", exact=True).fill("EHR")
    tab.get_by_role("button", name="Create token").click()
    expect(tab.get_by_test_id("new-token")).to_be_visible()


def _token_of(team: Team) -> int:
    """The id of the admin's API token (the one the tokens page lists to revoke)."""
    with session() as db:
        return db.exec(select(ApiToken.id).where(ApiToken.member_id == team.admin.id)).one()


def _token_revoke(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/tokens")
    tab.get_by_role("link", name=re.compile("^Revoke")).first.click()
    expect(tab.get_by_role("heading", name=re.compile("Revoke"))).to_be_visible()


def _stopped(tab: Page, base: str, team: Team) -> None:
    """Stop the medicine with a reason, then open its restart step."""
    tab.goto(f"{base}/patients/{team.patient_id}/medications/{team.medication_id}/stop")
    tab.get_by_label("Why is it stopped?").select_option(index=1)
    tab.get_by_role("button", name=re.compile("^Stop")).click()
    tab.goto(f"{base}/patients/{team.patient_id}/medications/{team.medication_id}/restart")
    expect(tab.get_by_role("button", name=re.compile("^Restart"))).to_be_visible()


def _advice_refused(tab: Page, base: str, team: Team) -> None:
    """An item of the team's library, its Spanish translation sent without a title."""
    with session() as db:
        db.add(AdviceItem(team_id=team.id, title="Walk", body="A short walk after meals."))
        db.commit()
    tab.goto(f"{base}/advice")
    tab.get_by_text("Translate into").first.click()
    tab.get_by_label("Advice text in español").fill("Un paseo corto.")
    tab.get_by_role("button", name="Save the translation").click()
    expect(tab.get_by_role("alert")).to_be_visible()


def _audit_filtered(tab: Page, base: str, team: Team) -> None:
    tab.goto(f"{base}/audit?date_from=13/03/2027&action=patient.view")


VISITS = [
    Visit("login", "/login", "login.html", _get("/login"), public=True),
    Visit("login-failed", "/login", "login.html", _login_failed, public=True),
    Visit("patients", "/patients", "patients.html", _get("/patients")),
    Visit("patient", "/patients/{patient_id}", "patient.html", _get("/patients/{pid}")),
    Visit("patient-new", "/patients/new", "patient_new.html", _get("/patients/new")),
    Visit("medication-stop", "/patients/{patient_id}/medications/{medication_id}/stop",
          "medication_stop.html",
          _get("/patients/{pid}/medications/{medication_id}/stop")),
    Visit("medication-restart", "/patients/{patient_id}/medications/{medication_id}/restart",
          "medication_restart.html", _stopped),
    Visit("member", "/settings/members/{member_id}", "member.html",
          _get("/settings/members/{member_id}")),
    Visit("member-deactivate", "/settings/members/{member_id}/deactivate", "confirm.html",
          _get("/settings/members/{member_id}/deactivate")),
    Visit("token-revoke", "/tokens/{token_id}/revoke", "confirm.html", _token_revoke),
    Visit("targets-refused", "/patients/{patient_id}/targets", "patient.html",
          _targets_refused),
    Visit("enrol", "/patients/{patient_id}/enrol", "enrol.html", _enrol),
    Visit("upload", "/patients/{patient_id}/readings/upload", "upload.html", _upload),
    Visit("alerts", "/alerts", "alerts.html", _get("/alerts")),
    Visit("alerts-resolved", "/alerts", "alerts.html", _get("/alerts?status=resolved")),
    Visit("advice", "/advice", "advice.html", _get("/advice")),
    Visit("advice-refused", "/advice/{advice_id}/translation", "advice.html", _advice_refused),
    Visit("settings", "/settings", "settings.html", _get("/settings")),
    Visit("tokens", "/tokens", "tokens.html", _get("/tokens")),
    Visit("new-token", "/tokens", "tokens.html", _new_token),
    Visit("audit", "/audit", "audit.html", _get("/audit")),
    Visit("audit-filtered", "/audit", "audit.html", _audit_filtered),
    Visit("not-found", "/patients/{patient_id}", "error.html", _get("/patients/999999")),
]
# Violations in pages other helpers of issue 15 are rewriting: the lead fixes them after
# merging (strict: the check fails as soon as they are gone, to drop the mark).
OTHERS: dict[str, str] = {}


def _ward(team: Team) -> None:
    """The patient's page with medications (the fixture's), readings and open alerts."""
    seed(team.patient_id, team.id)
    with session() as db:
        for kind, severity, summary in ((AlertKind.missed_doses, AlertSeverity.high,
                                         "2 missed doses in a row"),
                                        (AlertKind.symptom, AlertSeverity.normal,
                                         "dizzy in the morning")):
            db.add(Alert(patient_id=team.patient_id, team_id=team.id, kind=kind,
                         severity=severity, summary=summary,
                         created_at=utcnow() - timedelta(hours=3)))


def _report(violations: list[dict]) -> str:  # type: ignore[type-arg]
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


def _params() -> list[object]:
    return [pytest.param(v, id=v.name, marks=[pytest.mark.xfail(
        strict=True, reason=OTHERS[v.name])] if v.name in OTHERS else []) for v in VISITS]


@pytest.mark.browser
@pytest.mark.parametrize("visit", _params())
def test_axe_finds_no_wcag_violation(page: Page, console_url: str,  # noqa: F811
                                     teams: tuple[Team, Team], visit: Visit) -> None:
    north, _ = teams
    _ward(north)
    if not visit.public:
        log_in(page, console_url, north.admin.email)
    visit.go(page, console_url, north)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"a11y-{visit.name}.png", full_page=True)
    found = _AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA},
                                    "resultTypes": ["violations"]}).response["violations"]
    assert not found, f"{visit.name}: {len(found)} kinds of violation\n{_report(found)}"


def test_every_html_page_of_the_console_is_checked(client: TestClient,
                                                   teams: tuple[Team, Team]) -> None:
    """A GET route answering HTML, or a template, that no visit above covers fails here."""
    north, _ = teams
    login(client, north.admin.email)
    covered = {v.route for v in VISITS}
    for route in router.routes:
        path = getattr(route, "path", "")
        if "GET" not in getattr(route, "methods", set()):
            continue
        answer = client.get(path.format(**_ids(north), token_id=_token_of(north)),
                            follow_redirects=False)
        if answer.headers.get("content-type", "").startswith("text/html"):
            assert path in covered, f"{path} renders a page that no accessibility check visits"
    pages = {p.name for p in TEMPLATES.glob("*.html") if not p.name.startswith("_")}
    assert pages - {"base.html"} == {v.template for v in VISITS}


@pytest.mark.browser
def test_the_skip_link_comes_first_and_moves_focus_to_main(
        page: Page, console_url: str, teams: tuple[Team, Team]) -> None:  # noqa: F811
    north, _ = teams
    page.goto(f"{console_url}/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()                 # visible once focused
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()

    log_in(page, console_url, north.clinician.email)
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    # Past the header's eight stops: the next Tab is the page's own first control, and the
    # first patient follows the list's own controls (add, the two views, search, filter,
    # sort, Show), never a header link again.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Add a patient")).to_be_focused()
    first = page.locator("main table a[href^='/patients/']").first
    presses = 1
    while not first.evaluate("link => link === document.activeElement"):
        assert page.evaluate("() => !!document.activeElement.closest('main')")
        assert presses < 8, "more than 8 Tabs from the skip link to the first patient"
        page.keyboard.press("Tab")
        presses += 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "a11y-keyboard-first-patient.png")


_FIELDS_JS = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(
      "input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]),"
      + "select, textarea")]
    .filter(el => el.offsetParent !== null)
    .map(el => [el.name, rgb(getComputedStyle(el).borderTopColor).slice(0, 3),
                background(el.parentElement)]);
}"""


def _contrast(one: list[float], two: list[float]) -> float:
    def luminance(rgb: list[float]) -> float:
        c = [v / 255 for v in rgb]
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.browser
def test_fields_are_outlined_and_the_focus_is_plain_to_see(
        page: Page, console_url: str, teams: tuple[Team, Team]) -> None:  # noqa: F811
    """WCAG 1.4.11: a field's border at 3:1 against what surrounds it; 2.4.7: a focus
    outline of 2 px or more, with a dark ring that holds 3:1 on the page's background."""
    north, _ = teams
    log_in(page, console_url, north.admin.email)
    for path in (f"/patients/{north.patient_id}", "/settings", "/audit", "/advice"):
        page.goto(console_url + path)
        for name, border, around in page.evaluate(_FIELDS_JS):
            assert _contrast(border, around) >= 3, (path, name, border, around)
    page.goto(f"{console_url}/patients")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    search = page.get_by_label("Name or record number")
    for _ in range(4):  # add a patient, the two views, then the search field
        page.keyboard.press("Tab")
    expect(search).to_be_focused()
    style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth), s.boxShadow]; }""")
    assert style[0] == "solid" and style[1] >= 2, style
    ring = [float(v) for v in re.findall(r"[\d.]+", style[2])[:3]]
    assert _contrast(ring, [246, 248, 250]) >= 3, style
    page.screenshot(path=SHOTS / "a11y-focus-search.png")
