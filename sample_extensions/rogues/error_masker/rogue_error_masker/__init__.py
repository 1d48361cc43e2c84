"""Test rogue `error_masker`: Turns server errors into 200 friendly answers."""
