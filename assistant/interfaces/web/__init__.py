"""The web: the care-team console (`pages/`) and the REST API (`api/`) in one FastAPI app
(`app.py`), with their shared dependencies, bodies and error mapping."""
