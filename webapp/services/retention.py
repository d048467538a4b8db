"""Retention: delete raw usage rows older than a cutoff, after rolling their days up.

Only whole UTC days that are already rolled up are deleted, so every total of an old period
still comes from the daily rollups. Deletion runs in batches (short transactions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import AiConnectionUsage, UsageRollupState, utcnow
from . import rollups
from .errors import InvalidInput

DELETE_BATCH = 10_000
_AGE = re.compile(r"^\s*(\d{1,5})\s*d?\s*$")


def parse_age(raw: str) -> int:
    """Days from "90d" or "90"; at least 1 (today is never pruned)."""
    match = _AGE.match(raw or "")
    if not match or int(match.group(1)) < 1:
        raise InvalidInput(f"--older-than {raw!r} is not an age in days; use e.g. 90d (at least 1d).",
                           {"older_than": ["Use e.g. 90d."]})
    return int(match.group(1))


@dataclass
class PruneReport:
    cutoff_day: date
    deleted: int
    rolled_up_days: int


def prune(older_than_days: int, now: datetime | None = None, batch: int = DELETE_BATCH,
          dry_run: bool = False, on_batch=None) -> PruneReport:
    """Delete raw rows of UTC days before today - older_than_days (rolled up first)."""
    now = now or utcnow()
    rolled = rollups.rollup_pending(now)
    through = rollups.read_state().rolled_up_through
    cutoff_day = now.date() - timedelta(days=older_than_days)
    if through is not None:
        cutoff_day = min(cutoff_day, through + timedelta(days=1))
    cutoff = rollups.day_start(cutoff_day)
    u = AiConnectionUsage
    if dry_run:
        count = db.session.scalar(select(func.count()).select_from(u).where(u.created_at < cutoff))
        db.session.rollback()
        return PruneReport(cutoff_day, count, rolled.days)
    deleted = 0
    while True:
        ids = select(u.id).where(u.created_at < cutoff).order_by(u.id).limit(batch)
        result = db.session.execute(
            delete(u).where(u.id.in_(ids.scalar_subquery()))
            .execution_options(synchronize_session=False))
        db.session.commit()
        deleted += result.rowcount or 0
        if on_batch:
            on_batch(result.rowcount or 0)
        if not result.rowcount or result.rowcount < batch:
            break
    _remember_cutoff(cutoff_day)
    return PruneReport(cutoff_day, deleted, rolled.days)


def _remember_cutoff(cutoff_day: date) -> None:
    state = db.session.get(UsageRollupState, rollups.STATE_ID)
    if state is None:
        state = UsageRollupState(id=rollups.STATE_ID)
        db.session.add(state)
    if state.raw_kept_from is None or state.raw_kept_from < cutoff_day:
        state.raw_kept_from = cutoff_day
    db.session.commit()
