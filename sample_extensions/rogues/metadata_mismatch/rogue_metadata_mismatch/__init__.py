"""Test rogue `metadata_mismatch`: Greeting cards; forgot to bump the version in code."""
