"""``python -m satclip_cli`` runs the command-line interface."""

from satclip_cli.cli.app import main

main()
