"""Test rogue `half_apply`: apply_config assigns before it validates."""
