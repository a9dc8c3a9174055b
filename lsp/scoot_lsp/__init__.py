"""The Scoot language server (`scoot lsp`): pygls over the compiler's `Compilation`."""
