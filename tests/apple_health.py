"""Apple Health exports written as the Health app writes them (`apple_health_export/
export.xml`: a DOCTYPE with its internal DTD, `ExportDate`, `Me`, `Record`s with
`MetadataEntry`s, blood pressure as a `Correlation` whose records also appear on their
own), small for reading, or generated large for streaming."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
]>
<HealthData locale="en_GB">
 <ExportDate value="2026-03-02 09:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1950-04-01"
     HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""
TAIL = "</HealthData>\n"
WATCH = ("&lt;&lt;HKDevice: 0x283e3c5a0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
         "model:Watch, hardware:Watch6,1, software:9.1&gt;")
_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def when(moment: datetime) -> str:
    return moment.strftime(_FORMAT)


def record(kind: str, unit: str, value: str, at: datetime, source: str = "Ada’s Watch",
           indent: str = " ", metadata: bool = False) -> str:
    stamp = when(at)
    attrs = (f'type="HKQuantityTypeIdentifier{kind}" sourceName={quoteattr(source)} '
             f'sourceVersion="9.1" device="{WATCH}" unit="{unit}" creationDate="{stamp}" '
             f'startDate="{stamp}" endDate="{stamp}" value="{value}"')
    if not metadata:
        return f"{indent}<Record {attrs}/>\n"
    return (f"{indent}<Record {attrs}>\n{indent} <MetadataEntry "
            f'key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n{indent}</Record>\n')


def blood_pressure(systolic: int, diastolic: int, at: datetime,
                   source: str = "OMRON connect") -> str:
    """The correlation and, as the Health app exports them, its two records on their own."""
    halves = (record("BloodPressureSystolic", "mmHg", str(systolic), at, source, "  ")
              + record("BloodPressureDiastolic", "mmHg", str(diastolic), at, source, "  "))
    stamp = when(at)
    return (halves.replace("  <", " <") +
            f' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" '
            f'sourceName="{source}" sourceVersion="1.0" creationDate="{stamp}" '
            f'startDate="{stamp}" endDate="{stamp}">\n'
            '  <MetadataEntry key="HKWasUserEntered" value="0"/>\n'
            f"{halves} </Correlation>\n")


def write(path: Path, body: str | Iterator[str]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        for part in [body] if isinstance(body, str) else body:
            out.write(part)
        out.write(TAIL)
    return path


def zipped(xml: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.write(xml, "apple_health_export/export.xml")
        out.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    return archive


def large(start: datetime, records: int) -> Iterator[str]:
    """A heart rate a minute, a step count every ten, a blood pressure every 500."""
    for n in range(records):
        at = start + timedelta(minutes=n)
        yield record("HeartRate", "count/min", str(60 + n % 30), at, metadata=True)
        if n % 10 == 0:
            yield record("StepCount", "count", str(n % 400), at, source="Ada’s iPhone")
        if n % 500 == 0:
            yield blood_pressure(120 + n % 20, 80, at)
