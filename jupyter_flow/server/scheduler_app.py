"""The server extension that runs the local scheduler while the Jupyter server is up.

An ``ExtensionApp`` (not a plain module extension) because jupyter_server calls only those
on shutdown: ``stop_extension`` lets go of the stores' leases, so a standby daemon takes
over within a tick. Configured like any server extension, e.g. in
``jupyter_server_config.py``::

    c.FlowSchedulerApp.enabled = False   # leave local schedules to `jupyter flow scheduler`
    c.FlowSchedulerApp.tick = 1.0        # seconds between looks at the schedules
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, default

from jupyter_flow.errors import FlowError
from jupyter_flow.schedule.daemon import MISSED_POLICIES, TICK_ENV, DaemonOptions

from . import services
from .scheduler import SCHEDULER_KEY, KnownStores, ServerScheduler, stores_under

KNOWN_STORES = "local-schedule-stores.json"


class FlowSchedulerApp(ExtensionApp):
    name = "jupyter_flow_scheduler"
    description = "Fires jupyter_flow's local schedules while the server runs."

    enabled = Bool(
        True,
        config=True,
        help="Fire local schedules from this server (off: only `jupyter flow scheduler` "
        "fires them). Of all the schedulers of one store only one fires at a time.",
    )
    tick = Float(config=True, help="Seconds between looks at the schedules.")
    missed = Enum(
        list(MISSED_POLICIES),
        default_value="run-once",
        config=True,
        help="Fires missed while no scheduler ran: run-once (one run for all) or skip.",
    )
    grace = Float(60.0, config=True, help="Seconds late before a fire counts as missed.")

    @default("tick")
    def _default_tick(self) -> float:
        try:
            return float(os.environ.get(TICK_ENV) or 1.0)
        except ValueError:
            return 1.0

    def initialize_settings(self) -> None:
        from jupyter_core.paths import jupyter_data_dir

        options = DaemonOptions(tick=self.tick, missed=self.missed, grace=self.grace)
        known = KnownStores(Path(jupyter_data_dir()) / "jupyter_flow" / KNOWN_STORES)
        self.service = ServerScheduler(options, log=self.log.info, known=known)
        self.settings[SCHEDULER_KEY] = self.service if self.enabled else None

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if not self.enabled:
            self.log.info("jupyter_flow: local scheduler off (FlowSchedulerApp.enabled)")
            return
        root_dir = Path(serverapp.root_dir).expanduser()
        try:
            root = await asyncio.to_thread(services.store_root, root_dir)
        except FlowError as err:  # bad settings beside the root: still serve sub-folders
            self.log.warning(f"jupyter_flow: no default store for the scheduler: {err}")
        else:
            self.service.watch(root)
        if self.service.known is not None:
            for known in await asyncio.to_thread(stores_under, self.service.known, root_dir):
                self.service.watch(known)
        self.service.start()
        self.log.info("jupyter_flow: local scheduler running in this server")

    async def stop_extension(self) -> None:
        await asyncio.to_thread(self.service.stop)
