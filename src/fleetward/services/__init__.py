"""Use cases. Each receives its ports (unit of work, hashers, clock) as arguments."""
