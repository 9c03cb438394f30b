"""``python -m tinyts`` runs the command line."""

from tinyts.cli.main import main

if __name__ == "__main__":
    main()
