"""Test rogue `cache_leak`: Caches GET responses by path in front of the auth check."""
