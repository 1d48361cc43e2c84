"""Test rogue `stop_twice`: Flushes to a closed connection on a second stop."""
