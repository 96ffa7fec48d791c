"""``hdc-collector token``: ward and admin tokens, created, listed, rotated and revoked."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import click

from collector.cli.options import clean_errors, db_option, migrated_engine
from collector.store.engine import write_transaction
from collector.store.tokens import ADMIN, WARD, create_token, list_tokens, revoke_token, rotate_token
from collector.store.units import sync_units
from inventory.registry import load_registry


@click.group()
def token() -> None:
    """Ward and admin tokens: create, list, rotate, revoke. Every change is written to the audit log."""


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d %H:%MZ") if moment else "-"


@token.command("create")
@click.option("--ward", "ward_code", default=None, help="Unit code, 5 digits with leading zeros.")
@click.option("--admin", is_flag=True, help="An admin token (no unit) for the /api/v1/admin endpoints.")
@click.option("--label", default=None, help="Free text to recognise the token later (e.g. the machine group).")
@db_option()
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path))
@clean_errors
def token_create(ward_code: Optional[str], admin: bool, label: Optional[str], db_url: Optional[str],
                 registry_path) -> None:
    """Create a token for one unit (--ward) or an admin token (--admin) and print it once; only its hash is stored."""

    if admin == (ward_code is not None):
        raise click.UsageError("give either --ward CODE or --admin")
    registry = load_registry(registry_path)
    if ward_code is not None and ward_code not in registry:
        raise click.BadParameter(f"{ward_code!r} is not a unit code of {registry.source}", param_hint="--ward")
    with write_transaction(migrated_engine(db_url)) as conn:
        sync_units(conn, registry)
        click.echo(create_token(conn, ward_code, label, ADMIN if admin else WARD))


@token.command("list")
@click.option("--ward", "ward_code", default=None, help="Only this unit's tokens.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@db_option()
@clean_errors
def token_list(ward_code: Optional[str], as_json: bool, db_url: Optional[str]) -> None:
    """Tokens without their secrets: id, kind, unit, state, created, last used, expiry or revocation, label."""


    with migrated_engine(db_url).connect() as conn:
        found = list_tokens(conn, ward_code)
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in found], ensure_ascii=False, indent=1))
        return
    click.echo(f"{'TOKEN ID':<16}  {'KIND':<5}  {'UNIT':<5}  {'STATE':<8}  {'CREATED':<17}  {'LAST USED':<17}  "
               f"{'ENDS':<17}  LABEL")
    for t in found:
        click.echo(f"{t.token_id:<16}  {t.kind:<5}  {t.ward_code or '-':<5}  {t.state:<8}  {_when(t.created_at):<17}  "
                   f"{_when(t.last_used_at):<17}  {_when(t.revoked_at or t.expires_at):<17}  {t.label or ''}")


@token.command("rotate")
@click.argument("token_id")
@click.option("--grace-days", default=7, show_default=True, type=click.FloatRange(0, 365),
              help="How long the old token keeps working, so agents can be switched over; 0 ends it now.")
@db_option()
@clean_errors
def token_rotate(token_id: str, grace_days: float, db_url: Optional[str]) -> None:
    """Issue a successor of TOKEN_ID (same kind, unit and label) and print it once."""
    with write_transaction(migrated_engine(db_url)) as conn:
        rotation = rotate_token(conn, token_id, timedelta(days=grace_days))
    click.echo(rotation.token)
    click.echo(f"new token {rotation.token_id} replaces {token_id}, which stays valid until "
               f"{_when(rotation.old_expires_at)}", err=True)


@token.command("revoke")
@click.argument("token_id")
@db_option()
@clean_errors
def token_revoke(token_id: str, db_url: Optional[str]) -> None:
    """End TOKEN_ID at once."""

    with write_transaction(migrated_engine(db_url)) as conn:
        info = revoke_token(conn, token_id)
    click.echo(f"revoked {info.kind} token {info.token_id}" + (f" of unit {info.ward_code}" if info.ward_code else ""))
