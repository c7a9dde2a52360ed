"""Faults under load on the real network: SIGKILL nodes while donations are submitted."""
