"""The workspace's server bounds its kernels (step 2, item 14)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado import web

from crossexec_ml.apps import VOILA_JUPYTER_PATH, BoundedKernelManager


def test_the_voila_config_turns_on_the_host_check_and_the_bound():
    config = json.loads((VOILA_JUPYTER_PATH / "voila.json").read_text())
    assert config["Voila"]["tornado_settings"]["allow_remote_access"] is False
    manager = config["VoilaConfiguration"]["multi_kernel_manager_class"]
    assert manager == "crossexec_ml.apps.BoundedKernelManager"
    assert 1 <= config["BoundedKernelManager"]["max_kernels"] <= 16
    assert (VOILA_JUPYTER_PATH / "voila" / "templates" / "crossexec" / "index.html.j2").is_file()


def test_a_page_beyond_the_bound_is_refused_with_a_sentence():
    async def scenario() -> None:
        km = BoundedKernelManager(max_kernels=1, default_kernel_name="python3")
        first = await km.start_kernel()
        try:
            with pytest.raises(web.HTTPError) as err:
                await km.start_kernel()
            assert err.value.status_code == 503 and "close a tab" in err.value.reason
            assert km.list_kernel_ids() == [first]
        finally:
            await km.shutdown_all(now=True)

    asyncio.run(scenario())


def test_at_the_bound_the_kernel_of_a_page_left_is_reclaimed():
    # Walked: 8 reloads within the culling window gave a 503 (the unload shutdown is refused).
    async def scenario() -> None:
        km = BoundedKernelManager(max_kernels=1, reclaim_after=0, default_kernel_name="python3")
        first = await km.start_kernel()
        try:
            second = await km.start_kernel()  # the first page's tab was closed: no connection
            assert km.list_kernel_ids() == [second]
            km.notify_connect(second)  # a page still open is never reclaimed
            with pytest.raises(web.HTTPError):
                await km.start_kernel()
            assert first not in km.list_kernel_ids()
        finally:
            await km.shutdown_all(now=True)

    asyncio.run(scenario())
