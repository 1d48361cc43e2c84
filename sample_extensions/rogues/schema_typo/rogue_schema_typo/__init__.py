"""Test rogue `schema_typo`: a config_schema that is not valid JSON Schema."""
