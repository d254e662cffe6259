"""Serving the workspace with Voilà: a bounded number of kernels, one sentence when full.

Every page a leader opens starts a kernel of about 350 MB. On a shared court server twelve
reloads must not take 4 GB: past ``max_kernels`` live kernels a new page is refused with
HTTP 503 and a sentence, and idle kernels of closed pages are culled (see ``voila.json``
beside the workspace's Voilà template, which also turns on the Host check).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

#: ``JUPYTER_PATH`` entry holding the workspace's Voilà template (``--template=crossexec``)
#: and ``voila.json`` (Host check, kernel bound, culling): ``make dashboard`` uses both.
VOILA_JUPYTER_PATH = Path(__file__).resolve().parent / "jupyter"


class BoundedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with an upper bound on live kernels.

    Configure with ``BoundedKernelManager.max_kernels`` (default 8); Voilà uses it through
    ``VoilaConfiguration.multi_kernel_manager_class``.
    """

    max_kernels = Integer(
        8,
        config=True,
        help="Most kernels alive at once; a page opened beyond it is refused with HTTP 503.",
    )

    reclaim_after = Integer(
        20,
        config=True,
        help="At the bound, kernels with no open page and idle this many seconds are shut first.",
    )

    async def _reclaim(self) -> None:
        # A reload or a closed tab leaves its kernel running: Voila's shutdown call on unload
        # is refused for want of an _xsrf token (voila#1458), and culling waits minutes. So a
        # leader reloading 8 times got a 503. Kernels no page is connected to, idle a while
        # (a page still being rendered is busy, so not idle), are the ones to reclaim.
        now = dt.datetime.now(dt.UTC)
        for kid in list(self.list_kernel_ids()):
            kernel = self._kernels.get(kid)
            last = getattr(kernel, "last_activity", None)
            if self._kernel_connections.get(kid, 0) == 0 and last is not None:
                if (now - last).total_seconds() >= self.reclaim_after:
                    await self.shutdown_kernel(kid)

    async def start_kernel(self, *, kernel_id: str | None = None, **kwargs: Any) -> str:
        """Start a kernel unless ``max_kernels`` are already running (HTTP 503 then).

        At the bound, kernels of pages already left (no connection, idle ``reclaim_after``
        seconds) are shut down first.
        """
        if kernel_id is None and len(self.list_kernel_ids()) >= self.max_kernels:
            await self._reclaim()
        if kernel_id is None and len(self.list_kernel_ids()) >= self.max_kernels:
            raise web.HTTPError(
                503,
                reason=(
                    f"the workspace already serves {self.max_kernels} open pages; close a tab "
                    "or try again in a few minutes (idle pages are closed automatically)"
                ),
            )
        return await super().start_kernel(kernel_id=kernel_id, **kwargs)
