"""The benchmark harness: ``make bench`` / ``make bench-quick`` run :mod:`bench.run`.

Not part of the installed package and not a test dependency; see ``bench/RESULTS.md`` for the recorded results.
"""
