"""Test rogue `fuzz_crash`: lists notes page by page; trusts its query parameters."""
