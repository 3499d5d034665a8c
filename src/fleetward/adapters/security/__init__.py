"""Hashing of passwords and generated secrets."""
