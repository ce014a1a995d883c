"""Background work: escalation steps, deliveries, snooze ends, and the sweeper."""
