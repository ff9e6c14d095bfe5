"""Running unattended: the scheduler's worker, schedules, alerts, health and metrics."""
