"""Test rogue `path_claim`: a hook that claims the analytics extension's paths."""
