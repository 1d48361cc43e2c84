"""Test rogue `tenant_context`: a middleware that depends on a hook having run."""
