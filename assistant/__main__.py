"""`python -m assistant ...` is the `careloop` command line."""

from assistant.interfaces.cli import app

app(prog_name="careloop")
