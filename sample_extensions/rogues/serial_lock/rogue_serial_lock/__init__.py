"""Test rogue `serial_lock`: one lock held across every request on the host."""
