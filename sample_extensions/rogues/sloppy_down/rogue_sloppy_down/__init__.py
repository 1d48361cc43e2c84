"""Test rogue `sloppy_down`: A down migration that drops the index but forgets the table."""
