"""Test rogue `shared_buffer`: an ETag middleware sharing one buffer among all requests."""
