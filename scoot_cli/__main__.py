"""`python -m scoot_cli`: the `scoot` command."""

from scoot_cli import main

if __name__ == "__main__":
    main()
