"""Donation pipeline benchmark: a CT series end to end against de-identification alone."""
