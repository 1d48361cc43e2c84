"""Test rogue `stale_tests`: greets users; its tests expect the old wording."""
