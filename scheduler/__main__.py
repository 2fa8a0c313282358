"""`python -m scheduler`: the reminder and advice service, until SIGINT or SIGTERM."""

import sys

from assistant.interfaces.cli import app

app(["run", "--only", "scheduler", *sys.argv[1:]], prog_name="careloop")
