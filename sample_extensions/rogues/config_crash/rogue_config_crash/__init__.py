"""Test rogue `config_crash`: apply_config divides by a setting the schema lets be zero."""
