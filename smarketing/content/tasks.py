"""Background jobs of the content library: the periodic expiry reminder."""
