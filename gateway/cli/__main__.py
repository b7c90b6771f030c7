"""``python -m gateway.cli``: the ``pohub`` command."""

from gateway.cli.main import main

if __name__ == "__main__":
    main()
