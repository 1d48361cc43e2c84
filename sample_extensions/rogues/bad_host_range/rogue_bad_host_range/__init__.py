"""Test rogue `bad_host_range`: Built against a host API that does not exist yet."""
