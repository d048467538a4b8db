"""Figures for the dashboard: one card per provider, and the latest errors."""

from datetime import timedelta

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import AiConnection, AiConnectionUsage, AiProvider, utcnow

LATEST_ERRORS = 10


def overview() -> dict:
    """Provider cards (connections, health, today's requests, error rate, cost) and last errors."""
    providers = db.session.scalars(select(AiProvider).order_by(AiProvider.name)).all()
    connections = db.session.scalars(select(AiConnection)).all()
    by_provider: dict[int, list[AiConnection]] = {}
    for connection in connections:
        by_provider.setdefault(connection.provider_id, []).append(connection)

    start_of_day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    usage = AiConnectionUsage
    today_rows = db.session.execute(
        select(
            usage.provider_id,
            func.count(usage.id),
            func.sum(case((usage.success.is_(False), 1), else_=0)),
            func.sum(usage.cost),
        )
        .where(usage.created_at >= start_of_day)
        .group_by(usage.provider_id)
    ).all()
    today = {row[0]: row[1:] for row in today_rows}

    cards = []
    for provider in providers:
        members = by_provider.get(provider.id, [])
        health: dict[str, int] = {}
        for connection in members:
            health[connection.health_status] = health.get(connection.health_status, 0) + 1
        requests, failures, cost = today.get(provider.id, (0, 0, None))
        cards.append({
            "provider": provider,
            "active": sum(1 for c in members if c.is_active),
            "total": len(members),
            "health": dict(sorted(health.items())),
            "requests_today": requests or 0,
            "error_rate_today": round(100.0 * (failures or 0) / requests, 1) if requests else None,
            "cost_today": cost,
        })

    latest_errors = db.session.execute(
        select(usage)
        .where(usage.success.is_(False), usage.created_at >= utcnow() - timedelta(days=30))
        .order_by(usage.created_at.desc())
        .limit(LATEST_ERRORS)
    ).scalars().all()
    return {"cards": cards, "latest_errors": latest_errors}
