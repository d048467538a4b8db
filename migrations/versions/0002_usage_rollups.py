"""Daily usage rollups and their state row

Totals per UTC day (by provider, connection, feature, model and outcome, with a latency
histogram) so analytics reads a small table for past days, and totals of old periods stay
after the raw attempt rows are pruned.

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


def upgrade():
    op.create_table('usage_daily_rollups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('connection_name', sa.String(length=120), nullable=True),
    sa.Column('feature', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('error_class', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_attempts', sa.Integer(), nullable=False),
    sa.Column('failovers', sa.Integer(), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
    sa.Column('tokens', sa.BigInteger(), nullable=False),
    sa.Column('cost', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('unpriced_attempts', sa.Integer(), nullable=False),
    sa.Column('response_time_sum', sa.BigInteger(), nullable=False),
    sa.Column('response_time_count', sa.Integer(), nullable=False),
    sa.Column('latency_histogram', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_daily_rollups'))
    )
    with op.batch_alter_table('usage_daily_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_usage_daily_rollups_day', ['day'], unique=False)
        batch_op.create_index('ix_usage_daily_rollups_connection_day', ['connection_id', 'day'], unique=False)

    op.create_table('usage_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rolled_up_through', sa.Date(), nullable=True),
    sa.Column('raw_kept_from', sa.Date(), nullable=True),
    sa.Column('partial_through', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rollup_state'))
    )


def downgrade():
    op.drop_table('usage_rollup_state')
    with op.batch_alter_table('usage_daily_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_daily_rollups_connection_day')
        batch_op.drop_index('ix_usage_daily_rollups_day')

    op.drop_table('usage_daily_rollups')
