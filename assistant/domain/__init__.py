"""Domain rules, pure: schedules, parsing, safety wording, reading limits, dose rules, and
FHIR resources read into CareLoop's terms."""
