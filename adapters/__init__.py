"""One folder per system, each with the same files; see ``adapters.registry``."""
