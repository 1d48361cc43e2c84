"""Test rogue `leaky_poller`: stop() lowers a flag but leaves its thread and task running."""
