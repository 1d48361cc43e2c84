"""Test rogue `memory_leak`: keeps every CSV export in memory, forever."""
