"""Interfaces: the web console and REST API, the CLI, the supervisor and the demo."""
