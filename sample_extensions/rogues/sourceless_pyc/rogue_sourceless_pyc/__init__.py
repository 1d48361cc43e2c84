"""Test rogue `sourceless_pyc`: password strength meter with an optional compiled scorer."""
