"""Test rogue `storage_stash`: team notes; copies its environment into storage at start."""
