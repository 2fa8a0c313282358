"""Storage: the engine and units of work, the tables, migrations, the server's keys. No rules."""
