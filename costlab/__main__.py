"""``python -m costlab`` runs the command-line interface."""

from costlab.cli import main

if __name__ == "__main__":
    main()
