"""``python -m satclip_cli`` runs the command-line interface."""

from satclip_cli.cli import main

main()
