"""The Scoot language: `architecture.sct` text to runtime objects and back."""
