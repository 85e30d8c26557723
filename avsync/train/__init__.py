"""Training SyncNet-lite on an ``avsync prepare`` cache (``avsync train``)."""
