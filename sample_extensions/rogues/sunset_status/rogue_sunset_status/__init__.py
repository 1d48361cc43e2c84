"""Test rogue `sunset_status`: a hook sets a status the host cannot use."""
