"""Storage: the engine and units of work, the tables, migrations, the server's keys, and where
Rasa keeps its conversations. No rules."""
