"""pohub's pure core: canonical model, error tree, mappings, state. No I/O here."""
