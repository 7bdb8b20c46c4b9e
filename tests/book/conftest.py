"""tests/book drives the built web book in Chromium: it runs in `make test-book`
(BOOK_TESTS=1), which builds the book first. The unit part (`pytest tests`) collects only
the cheap checks of its config and pins here."""
import os

collect_ignore_glob = [] if os.environ.get("BOOK_TESTS") == "1" else ["test_book_browser.py"]
