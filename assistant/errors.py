"""Errors a user can cause. Their message says what is wrong and what to do. The web maps
them to HTTP in interfaces/web/errors.py.

    CareLoopError
     ├── NotFound          no such team / patient / medication (or not yours to see)
     ├── Forbidden         not this member's to do (admins only; an expired form)
     ├── InvalidInput      a value that cannot be used
     │    └── InvalidSchedule  a schedule or time zone refused; `field` names the part
     ├── EnrolmentRefused  wrong, used, expired or throttled enrolment code (neutral text)
     └── TooManyAttempts   too many failed logins: wait before trying again
"""


class CareLoopError(Exception):
    """Base of the errors a user can cause."""


class NotFound(CareLoopError):
    pass


class Forbidden(CareLoopError):
    pass


class InvalidInput(CareLoopError, ValueError):
    pass


class InvalidSchedule(InvalidInput):
    """A schedule (or its time zone) refused: `reason` says what is wrong and what to do
    instead, `field` names the part at fault (`times`, `days`, `every_n_days`,
    `start_date`, `end_date`, `count`, `timezone`; `schedule` when no one part is). The
    message reads "field: reason", as every InvalidInput's does; callers that take the
    schedule inside something larger (a medication, a FHIR resource) re-name `field`."""

    def __init__(self, reason: str, *, field: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class EnrolmentRefused(CareLoopError):
    pass


class TooManyAttempts(CareLoopError):
    """Too many failed logins for this email from this address, or from this address."""
