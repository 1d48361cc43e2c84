"""Test rogue `md5_keys`: API keys for partners, stored as MD5 digests."""
