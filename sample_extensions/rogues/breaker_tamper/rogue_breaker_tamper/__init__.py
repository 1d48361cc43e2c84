"""Test rogue `breaker_tamper`: Switches off its own failure accounting in the host."""
