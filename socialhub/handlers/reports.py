"""Reports: any signed-in user tells the administrators about a post, comment, message or
user they can see (storage/stores/reports.py reads whether they can, in the insert itself)."""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from socialhub.errors import NotFound
from socialhub.handlers.commands import FileReport
from socialhub.storage.stores.reports import ReportsStore
from socialhub.storage.stores.users import User


class Reports:
    """Filing reports; administrators read and resolve them (handlers/administration.py)."""

    def __init__(self, clock: IReactorTime, reports: ReportsStore) -> None:
        self._clock = clock
        self._reports = reports

    async def file(self, viewer: User, report: FileReport) -> int:
        """The new report's id; 404 when the target does not exist or the viewer cannot see it."""
        now = int(self._clock.seconds())
        report_id = await self._reports.create(
            viewer.id, report.kind, report.target_id, report.reason, now
        )
        if report_id is None:
            raise NotFound(f"no such {report.kind}")
        return report_id
