"""`make bench`: measurements printed and written to benchmarks/results.json, never asserted."""
