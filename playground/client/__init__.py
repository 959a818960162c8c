"""The only package that talks HTTP to providers.

* ``runner``: runs end to end (validate, upload, submit, poll, download, probe) as events;
  the API the CLI and the UI drive.
* ``api``: ``VideoClient``, one httpx.AsyncClient per provider, retries read from the guidance table.
* ``errors``: the error tree, rooted at ``PlaygroundError``.
* ``ledger``: the SQLite run ledger that lets runs survive crashes and refreshes.
* ``providers``: ``ProviderConfig`` and the readers of each wire format's answers.
* ``cli``: ``python -m playground submit``.
"""
