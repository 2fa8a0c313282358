"""Errors a user can cause. Their message says what is wrong and what to do.

    CareLoopError
     ├── NotFound          no such team / patient / medication (or not yours to see)
     ├── InvalidInput      a value that cannot be used (also ScheduleError)
     └── EnrolmentRefused  wrong, used, expired or throttled enrolment code (neutral text)
"""


class CareLoopError(Exception):
    """Base of the errors a user can cause."""


class NotFound(CareLoopError):
    pass


class InvalidInput(CareLoopError, ValueError):
    pass


class EnrolmentRefused(CareLoopError):
    pass
