"""``hdc-collector``: serve, manage tokens, run the demo, simulate a fleet; one module per command group."""
from __future__ import annotations

import logging

import click

from collector import __version__
from collector.cli import (
    ansible,
    cloud,
    dashboards,
    demo,
    devices,
    prune,
    register,
    serve,
    simulate,
    store,
    tokens,
    units,
    viewers,
)


@click.group()
@click.version_option(__version__, prog_name="hdc-collector")
@click.option("-v", "--verbose", is_flag=True, help="Log each request and store operation.")
def main(verbose: bool) -> None:
    """The hdc-readiness collector."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)



for _command in (serve.serve, demo.demo, tokens.token, viewers.viewer, devices.device, store.audit, store.recount,
                 simulate.simulate, cloud.migration, dashboards.dashboards, ansible.ansible_inventory,
                 register.register, units.units, prune.prune, prune.backup):
    main.add_command(_command)
