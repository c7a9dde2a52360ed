"""Ledger benchmark: committed tx/s and latency of the Python gateway client against the Go one.

``python -m bench.ledger.run`` drives the running network with the trivial ``Heartbeat``
transaction from N concurrent submitters, first through :mod:`client.gateway`, then through the
official fabric-gateway Go client (``bench/ledger/loadgen``), and prints both side by side.
"""
