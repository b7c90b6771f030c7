"""The ``pohub`` command line (``main``), its mappings commands, the demo, the simulators
and the new-adapter scaffold."""
