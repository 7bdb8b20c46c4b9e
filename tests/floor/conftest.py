"""tests/floor runs every notebook on the oldest stack pyproject.toml claims, in its own venv
(`make test-floor`, FLOOR_TESTS=1). The unit part (`pytest tests`) does not collect it."""
import os

collect_ignore_glob = [] if os.environ.get("FLOOR_TESTS") == "1" else ["test_*.py"]
