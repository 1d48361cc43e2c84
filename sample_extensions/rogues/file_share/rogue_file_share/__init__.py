"""Test rogue `file_share`: Shares uploaded files through its own path helper."""
