"""Test rogue `no_restart`: Shuts its thread pool down on stop and cannot start again."""
