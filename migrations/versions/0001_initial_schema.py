"""Initial schema.

Providers, connections, usage, provider models, app keys, rate-limit counters and
administrators.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

ai_providers.default_connection_id and ai_connections.provider_id reference each other; on
PostgreSQL the first is added after both tables exist, on SQLite (which cannot ALTER a
constraint in) it is declared inline, as SQLite does not check it at CREATE time.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

DEFAULT_CONNECTION_FK = 'fk_ai_providers_default_connection_id_ai_connections'


def _is_sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    op.create_table('ai_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('adapter_kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('default_connection_id', sa.Integer(), nullable=True),
    sa.Column('models_refreshed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    *([sa.ForeignKeyConstraint(['default_connection_id'], ['ai_connections.id'], name=op.f(DEFAULT_CONNECTION_FK), ondelete='SET NULL')] if _is_sqlite() else []),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_providers')),
    sa.UniqueConstraint('slug', name=op.f('uq_ai_providers_slug'))
    )
    op.create_table('app_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('allowed_providers', sa.JSON(), nullable=True),
    sa.Column('rate_limit_per_minute', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_app_keys_key_hash')),
    sa.UniqueConstraint('prefix', name=op.f('uq_app_keys_prefix'))
    )
    op.create_table('rate_limit_counters',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'window_start', name=op.f('pk_rate_limit_counters'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('ai_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=False),
    sa.Column('key_hint', sa.String(length=32), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('disabled_reason', sa.String(length=500), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('rate_limit_per_minute', sa.Integer(), nullable=True),
    sa.Column('rate_limit_per_day', sa.Integer(), nullable=True),
    sa.Column('success_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_error_class', sa.String(length=32), nullable=True),
    sa.Column('cooldown_until', sa.DateTime(), nullable=True),
    sa.Column('cooldown_reason', sa.String(length=32), nullable=True),
    sa.Column('circuit_open_count', sa.Integer(), nullable=False),
    sa.Column('trial_started_at', sa.DateTime(), nullable=True),
    sa.Column('last_test_ok', sa.Boolean(), nullable=True),
    sa.Column('last_test_at', sa.DateTime(), nullable=True),
    sa.Column('last_test_latency_ms', sa.Integer(), nullable=True),
    sa.Column('last_test_message', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['ai_providers.id'], name=op.f('fk_ai_connections_provider_id_ai_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_connections')),
    sa.UniqueConstraint('provider_id', 'name', name=op.f('uq_ai_connections_provider_id'))
    )
    with op.batch_alter_table('ai_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_connections_provider_id'), ['provider_id'], unique=False)
    if not _is_sqlite():
        op.create_foreign_key(op.f(DEFAULT_CONNECTION_FK), 'ai_providers', 'ai_connections',
                              ['default_connection_id'], ['id'], ondelete='SET NULL')

    op.create_table('ai_provider_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('context_length', sa.Integer(), nullable=True),
    sa.Column('input_price_per_m', sa.Numeric(precision=18, scale=6), nullable=True),
    sa.Column('output_price_per_m', sa.Numeric(precision=18, scale=6), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['ai_providers.id'], name=op.f('fk_ai_provider_models_provider_id_ai_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_provider_models')),
    sa.UniqueConstraint('provider_id', 'model_id', name=op.f('uq_ai_provider_models_provider_id'))
    )
    op.create_table('ai_connection_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('connection_name', sa.String(length=120), nullable=True),
    sa.Column('app_key_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('attempt', sa.SmallInteger(), nullable=False),
    sa.Column('feature', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('tokens_used', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=18, scale=10), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('response_time_ms', sa.Integer(), nullable=True),
    sa.Column('error_class', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['app_key_id'], ['app_keys.id'], name=op.f('fk_ai_connection_usage_app_key_id_app_keys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['connection_id'], ['ai_connections.id'], name=op.f('fk_ai_connection_usage_connection_id_ai_connections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['provider_id'], ['ai_providers.id'], name=op.f('fk_ai_connection_usage_provider_id_ai_providers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_connection_usage'))
    )
    with op.batch_alter_table('ai_connection_usage', schema=None) as batch_op:
        batch_op.create_index('ix_ai_connection_usage_app_key_created', ['app_key_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ai_connection_usage_connection_created', ['connection_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_connection_usage_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_ai_connection_usage_feature_created', ['feature', 'created_at'], unique=False)
        batch_op.create_index('ix_ai_connection_usage_provider_created', ['provider_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_connection_usage_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ai_connection_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_connection_usage_request_id'))
        batch_op.drop_index('ix_ai_connection_usage_provider_created')
        batch_op.drop_index('ix_ai_connection_usage_feature_created')
        batch_op.drop_index(batch_op.f('ix_ai_connection_usage_created_at'))
        batch_op.drop_index('ix_ai_connection_usage_connection_created')
        batch_op.drop_index('ix_ai_connection_usage_app_key_created')

    op.drop_table('ai_connection_usage')
    op.drop_table('ai_provider_models')
    if not _is_sqlite():
        op.drop_constraint(op.f(DEFAULT_CONNECTION_FK), 'ai_providers', type_='foreignkey')
    with op.batch_alter_table('ai_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_connections_provider_id'))

    op.drop_table('ai_connections')
    op.drop_table('users')
    op.drop_table('rate_limit_counters')
    op.drop_table('app_keys')
    op.drop_table('ai_providers')
