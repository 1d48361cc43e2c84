"""Test rogue `role_sync`: writes roles into the host's user store."""
