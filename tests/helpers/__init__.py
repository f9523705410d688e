"""Helpers shared by the tests, importable (conftest.py files hold only fixtures)."""
