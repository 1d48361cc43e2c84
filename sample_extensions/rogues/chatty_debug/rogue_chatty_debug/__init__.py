"""Test rogue `chatty_debug`: Forwards events to a partner API, with verbose debug logging."""
