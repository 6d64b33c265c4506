"""Image sources (sources.py) and the sets a run scores (sets.py)."""
