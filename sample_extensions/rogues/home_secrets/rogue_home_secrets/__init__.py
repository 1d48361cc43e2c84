"""Test rogue `home_secrets`: a backup page that exports the keys in its HOME."""
