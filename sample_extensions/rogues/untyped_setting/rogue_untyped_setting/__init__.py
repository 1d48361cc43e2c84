"""Test rogue `untyped_setting`: a setting its schema does not describe."""
