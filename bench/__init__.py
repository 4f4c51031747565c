"""cogym's benchmarks: each runs the cogym path and the plain-library baseline side by side.

Run ``python -m bench`` (``--quick`` for a short pass, ``--json FILE`` to keep the figures).
"""
