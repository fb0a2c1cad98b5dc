"""Stage 10_monitor: KPIs over time, cohort retention, and what changed since the last run."""
