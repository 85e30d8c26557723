"""``python -m avsync``: the same as the ``avsync`` command."""
from avsync.cli.main import main

if __name__ == "__main__":
    main()
