"""Mappings in force: files on disk, versions in the store, drafts, review and reloads."""
