"""Domain rules, pure: schedules, parsing, safety wording, reading limits, dose rules."""
