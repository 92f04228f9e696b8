"""Benchmarks of the suite against the lab (`make bench`): figures as ratios against baselines."""
