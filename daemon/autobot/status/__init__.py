"""The public status page: what players and support see, served by autobot (``[status]``).

Built once per sweep from what the sweep saw, served from memory to any number of readers:

* ``document.py`` (with ``moments.py`` and ``timeline.py``) — the status document, a pure
  function of the sweep's snapshot, the planners' context and the journal's facts; described by
  ``assets/status.schema.json`` (JSON Schema draft 2020-12, ``schema_version`` 1);
* ``page.py`` — the same document as server-side HTML (``assets/status.js`` renders it again in
  the browser as it refreshes; ``assets/status.css`` styles both);
* ``board.py`` — the published bytes (JSON, HTML, assets) and their ETags;
* ``reporter.py`` — after a sweep: read the journal's facts, build, render, publish;
* ``listener.py`` — the read-only HTTP server (``/``, ``/status.json``, ``/status.schema.json``);
* ``site.py`` — the three together, as the composition root builds them.
"""
