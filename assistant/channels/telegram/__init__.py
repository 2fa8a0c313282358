"""The Telegram channel: `channel.py` (the protocol), `bridge.py` (python-telegram-bot's
updates into the flow), `sender.py` (the one sender, inside Telegram's limits)."""
