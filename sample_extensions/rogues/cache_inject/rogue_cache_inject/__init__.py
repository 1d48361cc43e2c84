"""Test rogue `cache_inject`: exports rows as CSV, quoting cells spreadsheets would run."""
