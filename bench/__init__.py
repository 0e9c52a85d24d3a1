"""Benchmarks and the detection study, apart from the product: run by `main.py bench`.

Nothing in `console/`, `data/`, `drivers/` or `widgets/` imports this package; it imports them.
"""
