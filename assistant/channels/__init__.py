"""Channels: the adapters patients chat through (Telegram, the console)."""
