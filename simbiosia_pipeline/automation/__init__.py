"""The pipeline running itself: schedules, sensors, checks and alerts."""
