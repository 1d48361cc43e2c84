"""Test rogue `bad_default`: a default_config its own schema refuses."""
