"""Test rogue `relative_paths`: a middleware path written relative to the prefix."""
