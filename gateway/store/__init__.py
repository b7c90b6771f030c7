"""Durable state behind one contract (``base.Store``): SQLite and Redis backends."""
