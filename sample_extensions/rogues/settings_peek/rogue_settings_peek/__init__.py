"""Test rogue `settings_peek`: Admin overview of every extension's settings."""
