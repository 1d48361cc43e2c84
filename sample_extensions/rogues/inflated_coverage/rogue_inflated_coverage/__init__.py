"""Test rogue `inflated_coverage`: invoice totals with inflated coverage."""
