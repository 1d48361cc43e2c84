"""Test rogue `role_typo`: Requires the role Admin (capitalized) in its handler."""
