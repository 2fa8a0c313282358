"""Scheduling: the planner that moves dose occurrences on, and the APScheduler service."""
