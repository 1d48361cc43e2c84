"""Test rogue `pytest_plugin`: Ships a pytest plugin that turns failing tests green."""
