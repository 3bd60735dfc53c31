"""autobot's benchmarks: ``python -m bench.run [--quick] [--only NAME ...]`` (``make bench``).

Each benchmark runs its baseline in the same run on the same localnet and prints a table plus a
final ``BENCH <name> key=value ...`` line. Benchmarks print numbers; they never fail on a slow
machine. See ``bench/RESULTS.md`` for a run and where the time goes.
"""
