"""The Rasa server's entry point, run by the Rasa engine's own Python (3.10):
`python -m rasa_components.launcher run ...` is `rasa run ...` without the DeprecationWarnings
of its libraries (pkg_resources, keras, SQLAlchemy 1.4, ...). Sanic turns them back on
when it is imported, whatever PYTHONWARNINGS says, and an operator can do nothing
about them. Every other warning is shown as usual.

It imports nothing else of CareLoop's: it runs in the engine's environment.
"""

from __future__ import annotations

import sys
import warnings
from typing import TextIO

_show = warnings.showwarning


def _show_unless_deprecated(message: Warning | str, category: type[Warning], filename: str,
                            lineno: int, file: TextIO | None = None,
                            line: str | None = None) -> None:
    if not issubclass(category, DeprecationWarning | PendingDeprecationWarning):
        _show(message, category, filename, lineno, file, line)


def main() -> None:
    warnings.showwarning = _show_unless_deprecated
    from rasa.__main__ import main as rasa

    sys.argv[0] = "rasa"  # as its messages name it
    rasa()


if __name__ == "__main__":
    main()
