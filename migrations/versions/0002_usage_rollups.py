"""Daily usage rollups and their state row

Totals per UTC day and (provider, connection, feature, model) cell, with a latency histogram
in 32 integer columns, so analytics sums a small table in SQL for past days; the same cells
split by outcome (success or error class) for the error table and outcome filters. Totals
of old periods stay after the raw attempt rows are pruned.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

LATENCY_COLUMNS = [f'latency_b{index:02d}' for index in range(64)]


def rollup_columns():
    """The dimensions and measures both rollup tables share."""
    return [
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=True),
        sa.Column('connection_id', sa.Integer(), nullable=True),
        sa.Column('connection_name', sa.String(length=120), nullable=True),
        sa.Column('feature', sa.String(length=100), nullable=True),
        sa.Column('model', sa.String(length=200), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('successes', sa.Integer(), nullable=False),
        sa.Column('first_attempts', sa.Integer(), nullable=False),
        sa.Column('failovers', sa.Integer(), nullable=False),
        sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
        sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
        sa.Column('tokens', sa.BigInteger(), nullable=False),
        sa.Column('cost', sa.Numeric(precision=24, scale=10), nullable=True),
        sa.Column('unpriced_attempts', sa.Integer(), nullable=False),
        sa.Column('response_time_sum', sa.BigInteger(), nullable=False),
        sa.Column('response_time_count', sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in LATENCY_COLUMNS],
    ]


def upgrade():
    op.create_table('usage_daily_rollups',
    *rollup_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_daily_rollups'))
    )
    with op.batch_alter_table('usage_daily_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_usage_daily_rollups_day', ['day'], unique=False)
        batch_op.create_index('ix_usage_daily_rollups_connection_day', ['connection_id', 'day'], unique=False)

    op.create_table('usage_daily_outcome_rollups',
    *rollup_columns(),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('error_class', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_daily_outcome_rollups'))
    )
    with op.batch_alter_table('usage_daily_outcome_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_usage_daily_outcome_rollups_outcome_day', ['success', 'day', 'error_class', 'attempts'], unique=False)
        batch_op.create_index('ix_usage_daily_outcome_rollups_connection_day', ['connection_id', 'day'], unique=False)

    op.create_table('usage_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rolled_up_through', sa.Date(), nullable=True),
    sa.Column('raw_kept_from', sa.Date(), nullable=True),
    sa.Column('partial_through', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rollup_state'))
    )


def downgrade():
    op.drop_table('usage_rollup_state')
    with op.batch_alter_table('usage_daily_outcome_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_daily_outcome_rollups_connection_day')
        batch_op.drop_index('ix_usage_daily_outcome_rollups_outcome_day')

    op.drop_table('usage_daily_outcome_rollups')
    with op.batch_alter_table('usage_daily_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_daily_rollups_connection_day')
        batch_op.drop_index('ix_usage_daily_rollups_day')

    op.drop_table('usage_daily_rollups')
