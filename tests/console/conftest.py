"""The console's fixtures for every test file of this folder: the example shop applied on
the local driver (`shop`) and `scoot console` serving it (`console`). They are written in
test_console_browser.py, the Chromium journey, and shared from here as they are."""

from tests.console.test_console_browser import console, shop

__all__ = ["console", "shop"]
