"""`python -m bench [NAME...] [--quick] [--list] [--output FILE]`, from the repository root."""

from __future__ import annotations

from bench.runner import main

# The guard matters: the load generator's spawned process imports this module again.
if __name__ == "__main__":
    raise SystemExit(main())
