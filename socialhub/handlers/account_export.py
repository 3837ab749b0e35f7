"""An account's export: everything stored about its user, for them alone."""

from __future__ import annotations

from socialhub.handlers.accounts import Viewer
from socialhub.storage.stores.account_export import AccountExportStore, Record


class AccountExport:
    """The viewer's own data, as the store reads it (http/views.py shapes the document)."""

    def __init__(self, store: AccountExportStore) -> None:
        self._store = store

    async def export(self, viewer: Viewer) -> dict[str, list[Record]]:
        return await self.export_of(viewer.user.id)

    async def export_of(self, user_id: int) -> dict[str, list[Record]]:
        """Any user's data, for the operator's tool (no check here)."""
        return await self._store.export(user_id)
