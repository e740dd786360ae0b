"""The performance benchmark: `python bench/run.py --issues 100000` (see README, Performance)."""
