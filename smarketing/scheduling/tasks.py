"""Scheduling's background jobs (reminders, external calendars): filled by the booking part."""
