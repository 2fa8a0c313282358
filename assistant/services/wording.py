"""How a monitoring alert words what detection found, from the catalog: the one-line
reason a nurse reads ("weight +2.4 kg in 3 days; baseline 81.2 kg", "Reading out of
range: systolic 184 above 180 mmHg"); and a measure or a span of time as a patient reads
it in their language ("presión arterial", "3 días")."""

from __future__ import annotations

from collections.abc import Mapping

from assistant import texts
from assistant.domain import findings
from assistant.domain.findings import Direction, Finding, FindingKind, Severity
from assistant.domain.targets import Target
from assistant.texts import formats

# A measure as the patient reads it (a measure not named here: as the readings name it).
MEASURES = {"blood_pressure": "measure.blood_pressure", "pulse": "measure.pulse",
            "resting_heart_rate": "measure.resting_heart_rate", "weight": "measure.weight",
            "glucose": "measure.glucose", "spo2": "measure.spo2",
            "temperature": "measure.temperature", "respiratory_rate": "measure.respiratory_rate",
            "steps": "measure.steps"}


def measure(name: str, language: str | None = None) -> str:
    """A measure in the patient's language: 'blood pressure', 'presión arterial'."""
    return texts.t(MEASURES[name], language) if name in MEASURES else findings.label(name)


def value(reading: findings.Reading, language: str | None = None) -> str:
    """A reading's value and unit as the patient's language writes numbers: '184/96 mmHg',
    '83,4 kg' (at most one decimal, as `findings.fmt`)."""
    def number(x: float) -> str:
        return formats.number(x, language, decimals=0 if float(round(x, 1)).is_integer() else 1)

    said = number(reading.value) + (f"/{number(reading.value2)}"
                                    if reading.value2 is not None else "")
    return f"{said} {findings.UNITS.get(reading.measure, '')}".rstrip()


def span(hours: float, language: str | None = None, *, days_from: float = 36) -> str:
    """ "3 days", "20 h", "40 min" (whole days from `days_from` hours on), as the patient's
    language writes it."""
    return _span(hours, days_from=days_from, language=language)


def summary(finding: Finding, series: list[findings.Reading],
             in_force: Mapping[str, Target]) -> str:
    """The one-line reason, from the catalog."""
    if finding.kind == FindingKind.trend:
        return texts.t("alert.trend", reason=reason(finding))
    if finding.kind == FindingKind.forecast:
        return texts.t("alert.forecast", reason=reason(finding))
    if finding.kind == FindingKind.missing_data:
        return texts.t("alert.missing_data", reason=reason(finding))
    reading = next((r for r in series if r.measure == finding.measure
                    and r.at == finding.evidence_at), None)
    target = in_force.get(finding.measure)
    if reading is None or target is None or finding.direction is None:
        return finding.reason
    return _crossed(reading, target, finding.severity, finding.direction) or finding.reason


def reason(finding: Finding) -> str:
    """A trend's, forecast's or missing data's one line, worded from its facts."""
    facts = finding.facts
    rule = facts.get("rule")
    if rule == "missing":
        return texts.t("alert.reason.missing", measure=findings.label(finding.measure),
                       gap=_span(float(facts["hours"]), days_from=48),
                       every=_span(float(facts["every_hours"]), days_from=48))
    if rule == "forecast":
        return texts.t("alert.reason.forecast", value=findings.fmt(float(facts["value"])),
                       rate=f"{abs(float(facts['rate'])):.1f}",
                       predicted=findings.fmt(float(facts["predicted"])),
                       minutes=f"{float(facts['minutes']):.0f}")
    if rule == "weight_gain":
        return texts.t("alert.reason.weight_gain", delta=f"{float(facts['delta']):+.1f}",
                       span=_span(float(facts["hours"]), days_from=36),
                       start=findings.fmt(float(facts["from"])),
                       value=findings.fmt(float(facts["value"])))
    if rule == "cusum":
        bp = finding.measure == "blood_pressure"
        return texts.t("alert.reason.trend",
                       what=texts.t("measure.systolic") if bp else findings.label(
                           finding.measure),
                       value=findings.fmt(float(facts["value"])),
                       unit=findings.UNITS.get(finding.measure, ""),
                       delta=f"{float(facts['delta']):+.1f}",
                       baseline=findings.fmt(float(facts["baseline"])),
                       span=_span(float(facts["hours"]), days_from=36))
    return finding.reason


def _span(hours: float, *, days_from: float, language: str | None = None) -> str:
    """ "3 days", "20 h", "40 min": whole days from `days_from` hours on."""
    if hours >= days_from:
        return texts.t("span.days", language, n=f"{hours / 24:.0f}")
    if hours >= 1:
        return texts.t("span.hours", language, n=f"{hours:.0f}")
    return texts.t("span.minutes", language, n=f"{hours * 60:.0f}")


def _crossed(reading: findings.Reading, target: Target, severity: Severity,
             direction: Direction) -> str:
    """ "Reading out of range: systolic 184 above 180 mmHg", as the team always read it."""
    parts = [texts.t("reading.above" if c.above else "reading.below",
                     measure=c.name or reading.measure, value=f"{c.value:g}",
                     limit=f"{c.level:g}")
             for c in target.crossed(reading, direction, urgent=severity == Severity.urgent)]
    if not parts:
        return ""
    return texts.t("alert.reading_out_of_range", problems="; ".join(parts),
                   unit=findings.UNITS.get(reading.measure, ""))
