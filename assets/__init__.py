"""Dagster wiring of the unitylv pipeline: assets, checks, jobs, schedules, sensors, CLI."""
