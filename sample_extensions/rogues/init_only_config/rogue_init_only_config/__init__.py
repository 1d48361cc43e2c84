"""Test rogue `init_only_config`: reads its configuration once, in initialize."""
