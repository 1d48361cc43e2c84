"""Test rogue `internal_context`: Tags its log lines with the host's internal request id."""
