"""`python -m scoot_runtime.cli`: the `scoot` command."""

from scoot_runtime.cli import main

if __name__ == "__main__":
    main()
