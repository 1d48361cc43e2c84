"""Test rogue `no_tests`: a unit converter whose tests are never collected."""
