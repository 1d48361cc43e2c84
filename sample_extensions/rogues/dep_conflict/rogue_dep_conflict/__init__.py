"""Test rogue `dep_conflict`: depends on a companion version that does not exist."""
