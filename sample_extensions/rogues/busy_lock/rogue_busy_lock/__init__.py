"""Test rogue `busy_lock`: refuses to render two reports at once (500 under load)."""
