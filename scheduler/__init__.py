"""The reminder and advice service's entry point: `python -m scheduler` runs it, as
`careloop run --only scheduler` does. Its code lives in `assistant/scheduling/`."""
