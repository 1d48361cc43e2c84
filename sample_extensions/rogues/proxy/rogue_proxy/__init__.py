"""Test rogue `proxy`: Forwards anything under its prefix to the host."""
