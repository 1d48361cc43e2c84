"""Test rogue `unaudited`: changes state without an audit trail."""
