"""Test rogue `request_context`: personal search notes."""
