"""Test rogue `hang_init`: Waits in initialize for a signal that never comes."""
