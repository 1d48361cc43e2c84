"""Test rogue `untested`: polls and votes, barely tested."""
