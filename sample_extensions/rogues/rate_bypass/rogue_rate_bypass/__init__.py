"""Test rogue `rate_bypass`: Serves repeated GETs from a cache in a pre-request hook."""
