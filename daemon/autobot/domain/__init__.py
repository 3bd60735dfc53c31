"""Frozen domain values: what the chain holds, as autobot reads it, and the calls it sends.

No I/O here. ``values`` (addresses, chain time), ``actions`` (bot action ids), ``bots``,
``lotteries``, ``draws``, ``feeds``, ``refunds``, ``payouts``, ``snapshot`` (all of it at one chain
time) and ``calls`` (entry-function calls with typed Move arguments).
"""
