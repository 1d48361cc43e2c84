"""Test rogue `json_compat`: invoice totals as JSON, Decimal amounts and dates included."""
