"""`python -m scoot_lsp`: the language server on stdio (`--tcp` to debug)."""

from scoot_lsp.server import main

main()
