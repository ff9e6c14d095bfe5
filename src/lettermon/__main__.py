"""``python -m lettermon``: the same as the ``lettermon`` command."""

from lettermon.cli import main

main()
