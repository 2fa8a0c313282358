"""Conversation: the Rasa client, the Rasa engine's commands, and one chat turn."""
