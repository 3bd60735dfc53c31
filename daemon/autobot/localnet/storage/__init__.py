"""The package's storage as a node serves it: the model's state rendered in the Move layouts.

* ``layouts`` — every struct storage holds, read from the package sources at the pinned commit
  (vendored as ``tests/data/lottery_multi_layouts.json``); Move BCS of node JSON;
* ``typetags`` — Move type strings (parse, canonical print) and table keys in node JSON;
* ``handles`` — native table handles (stable, derived from the table's path and owner), event
  handle GUIDs, the render context;
* ``values`` / ``resources`` — one function per struct: table values and nested structs, and
  the ``key`` structs with where they live;
* ``package`` — ``PackageStorage``: what ``GET /rpc/v3/accounts/{a}/resources[/{type}]`` and
  ``POST /rpc/v2/tables/{handle}/item`` serve.
"""

from autobot.localnet.storage.handles import DEPLOYMENT, table_handle
from autobot.localnet.storage.package import PackageStorage, TableRef

__all__ = ["DEPLOYMENT", "PackageStorage", "TableRef", "table_handle"]
