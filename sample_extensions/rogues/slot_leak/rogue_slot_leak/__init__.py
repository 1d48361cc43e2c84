"""Test rogue `slot_leak`: a concurrency cap that leaks slots when it is disabled."""
