"""Test rogue `slow_middleware`: derives a signing key with PBKDF2 on every request."""
