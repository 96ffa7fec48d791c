"""The background job that writes down changes of each application's inferred cloud-migration state.

Reading never writes; this thread is the one place inference is recorded,
besides each declaration (which records the evidence it was made against),
so "since when" has dates. ``serve`` and ``demo`` start it
(``Context.start_background``); an app made for a test or a script does not.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from collector.cloud.queries import observe_now
from collector.settings import Settings
from inventory.catalog import Catalog

log = logging.getLogger(__name__)
OBSERVE_EVERY_SECONDS = 300.0


class Observer(threading.Thread):
    """Records changes of inferred state every ``every`` seconds until stopped."""

    def __init__(self, engine: Engine, catalog: Catalog, settings: Settings, every: float = OBSERVE_EVERY_SECONDS):
        super().__init__(name="hdc-migration-observer", daemon=True)
        self.engine, self.catalog, self.settings, self.every = engine, catalog, settings, every
        self.stopped = threading.Event()

    def run(self) -> None:
        failing = False
        while not self.stopped.wait(self.every):
            now = datetime.now(timezone.utc)
            try:
                observe_now(self.engine, self.catalog, now, self.settings.active_since(now))
            except Exception:  # a store hiccup must not end the thread; the next round retries
                # Once per outage, not every round.
                log.log(logging.DEBUG if failing else logging.WARNING, "recording migration observations failed",
                        exc_info=True)
                failing = True
            else:
                if failing:
                    log.warning("recording migration observations works again")
                failing = False

    def stop(self) -> None:
        """End the thread and wait for it (a started one)."""
        self.stopped.set()
        if self.is_alive():
            self.join(30)
