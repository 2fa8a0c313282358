"""Channels: the ways patients chat with CareLoop. `base.py` is the protocol each one
implements, `flow.py` what every chat goes through (join, consent, /stop, buttons,
words), `registry.py` which channels exist and which the settings enable; `telegram/`
and `console.py` are the channels."""
