"""chain

httpcore (under httpx, under the SDK's client) asks ``import sniffio`` on every lock it takes,
several times per request; without sniffio installed each attempt is a failed import that
searches ``sys.path`` again (~30 µs), a quarter of a view's CPU cost. When sniffio is absent, the
answer is recorded once (``sys.modules["sniffio"] = None`` makes the import fail at once), and
httpcore takes its asyncio path as before.
"""

import importlib.util
import sys

if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
