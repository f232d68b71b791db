"""``python -m corridor.cli`` runs the command line, like ``corridor``."""

from corridor.cli import main

main()
