"""``python -m sim``: the same as the ``crisis-sim`` command."""

from sim.cli import main

main()
