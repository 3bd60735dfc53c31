"""Which functions the localnet executes through ``POST /rpc/v3/view`` (``--views``).

A Supra node (an aptos-core fork) executes through ``/rpc/v3/view`` only functions that carry
the ``#[view]`` attribute; the published ``lottery_multi`` marks one, ``history::is_legacy_summary``
(``model.abi.VIEW_ATTRIBUTE``). For any other function of the package the node refuses the call
with HTTP 400 ``{"message": "INVALID_MAIN_FUNCTION_SIGNATURE: function not marked as view
function: <function id>"}`` (the VM's status code and message, in the localnet's ``CODE: detail``
refusal shape).

* ``published`` — the package as deployed: only ``#[view]`` functions answer, like a node.
* ``patched`` — a package redeployed with ``#[view]`` on its readers: every reader the model
  implements answers (the localnet's behaviour before storage reads).

``POST /localnet/v1/view`` (dev only, same body and answer) evaluates any reader in either mode.

``DEFAULT_VIEW_MODE`` is the one default every localnet uses unless told otherwise (``autobot
localnet``, ``LocalnetOptions``, the daemon's embedded mode, ``make run``, tests, soak, bench):
``published``, since the daemon reads the package's storage (``[chain] reads = "storage"``,
``chain/reads.py``). A config written for a ``patched`` localnet reads through its views
(``reads = "views"``). This module imports nothing heavy: ``autobot.cli`` reads it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DEFAULT_VIEW_MODE", "NOT_A_VIEW_MESSAGE", "ViewMode"]


class ViewMode(StrEnum):
    PUBLISHED = "published"
    PATCHED = "patched"


DEFAULT_VIEW_MODE = ViewMode.PUBLISHED
"""The package as published: the daemon reads its storage (issue 11)."""

NOT_A_VIEW_MESSAGE = "function not marked as view function"
"""The aptos VM's message for a view call of a function without ``#[view]``."""
