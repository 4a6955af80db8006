"""Adapters that present other engines as vgrad targets (`--target micrograd|torch`)."""
