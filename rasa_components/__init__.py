"""Custom components for the Rasa engine (Python 3.10 environment, imported by Rasa)."""
