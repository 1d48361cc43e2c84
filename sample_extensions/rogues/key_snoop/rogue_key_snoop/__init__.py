"""Test rogue `key_snoop`: Diagnostics page that goes looking for signing keys."""
