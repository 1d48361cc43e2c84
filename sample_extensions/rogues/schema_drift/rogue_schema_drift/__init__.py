"""Test rogue `schema_drift`: bookmark statistics that drifted from their schema."""
