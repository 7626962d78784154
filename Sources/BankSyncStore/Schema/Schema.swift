/// The BankSync schema, as the list of its migrations.
///
/// Conventions, chosen so one DDL text runs on SQLite and PostgreSQL alike:
/// - ids are `TEXT` (lower-case UUIDs); money is `BIGINT` minor units plus a `currency` column;
/// - instants are `BIGINT` milliseconds since the Unix epoch, UTC (`*_at` columns);
/// - calendar dates are `TEXT` `YYYY-MM-DD`, which sorts as dates do;
/// - pipeline flags are nullable instants (`processed_at`), so there are no booleans to differ on.
enum Schema {
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "initial",
            statements: [
                """
                CREATE TABLE tenants (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT
                )
                """,
                "CREATE INDEX api_keys_tenant ON api_keys (tenant_id)",
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY,
                    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                    external_id TEXT NOT NULL,
                    email TEXT,
                    created_at BIGINT NOT NULL,
                    UNIQUE (tenant_id, external_id)
                )
                """,
                """
                CREATE TABLE connections (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    provider TEXT NOT NULL,
                    provider_connection_id TEXT NOT NULL,
                    institution_id TEXT,
                    institution_name TEXT,
                    status TEXT NOT NULL,
                    sync_state TEXT NOT NULL,
                    error_code TEXT,
                    error_count INTEGER NOT NULL DEFAULT 0,
                    consent_granted_at BIGINT,
                    consent_expires_at BIGINT,
                    last_synced_at BIGINT,
                    next_sync_at BIGINT,
                    cursor TEXT,
                    access_token_ciphertext TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (provider, provider_connection_id)
                )
                """,
                "CREATE INDEX connections_user ON connections (user_id)",
                // The scheduler's tick: due connections in next_sync_at order.
                "CREATE INDEX connections_due ON connections (next_sync_at) WHERE next_sync_at IS NOT NULL",
                // Expiry job: consents that end soon.
                "CREATE INDEX connections_consent_expiry ON connections (consent_expires_at) WHERE consent_expires_at IS NOT NULL",
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY,
                    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    provider_account_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    official_name TEXT,
                    mask TEXT,
                    type TEXT NOT NULL,
                    subtype TEXT,
                    status TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (connection_id, provider_account_id)
                )
                """,
                "CREATE INDEX accounts_user ON accounts (user_id)",
                """
                CREATE TABLE balances (
                    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
                    currency TEXT NOT NULL,
                    current_minor BIGINT NOT NULL,
                    available_minor BIGINT,
                    limit_minor BIGINT,
                    as_of BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE balance_history (
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    date TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    current_minor BIGINT NOT NULL,
                    available_minor BIGINT,
                    PRIMARY KEY (account_id, date)
                )
                """,
                """
                CREATE TABLE transactions (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    provider_transaction_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    amount_minor BIGINT NOT NULL,
                    currency TEXT NOT NULL,
                    date TEXT NOT NULL,
                    authorized_date TEXT,
                    description TEXT NOT NULL,
                    merchant_name TEXT,
                    counterparty TEXT,
                    provider_category TEXT,
                    category TEXT,
                    category_confidence DOUBLE PRECISION,
                    category_source TEXT,
                    pending_transaction_id TEXT,
                    removed_at BIGINT,
                    processed_at BIGINT,
                    categorized_at BIGINT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (account_id, provider_transaction_id)
                )
                """,
                // A user's feed, newest first; the unique constraint above serves lookups by provider id.
                "CREATE INDEX transactions_user_date ON transactions (user_id, date DESC, id)",
                "CREATE INDEX transactions_account_date ON transactions (account_id, date DESC)",
                // Categorizer's work list.
                "CREATE INDEX transactions_uncategorized ON transactions (user_id) WHERE categorized_at IS NULL",
                """
                CREATE TABLE sync_runs (
                    id TEXT PRIMARY KEY,
                    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL,
                    state TEXT NOT NULL,
                    started_at BIGINT NOT NULL,
                    finished_at BIGINT,
                    added INTEGER NOT NULL DEFAULT 0,
                    modified INTEGER NOT NULL DEFAULT 0,
                    removed INTEGER NOT NULL DEFAULT 0,
                    error_code TEXT
                )
                """,
                "CREATE INDEX sync_runs_connection ON sync_runs (connection_id, started_at DESC)",
            ]),
        // The job queue (BankSyncJobs). One table, River-shaped: a job's state is a column and
        // the hot paths have partial indexes that exclude finished rows.
        Migration(
            version: 2, name: "jobs",
            statements: [
                """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    state TEXT NOT NULL,
                    priority INTEGER NOT NULL DEFAULT 0,
                    payload TEXT NOT NULL,
                    attempt INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    scheduled_at BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    attempted_at BIGINT,
                    finalized_at BIGINT,
                    lease_expires_at BIGINT,
                    leased_by TEXT,
                    timeout_ms BIGINT NOT NULL,
                    unique_key TEXT UNIQUE,
                    unique_finished_states TEXT NOT NULL DEFAULT ',',
                    lock_key TEXT,
                    result TEXT,
                    errors TEXT NOT NULL DEFAULT '[]',
                    access_token_hash TEXT NOT NULL
                )
                """,
                "CREATE INDEX jobs_fetch ON jobs (queue, priority, scheduled_at, id) WHERE state IN ('available', 'retryable')",
                "CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running'",
                "CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE state IN ('completed', 'discarded', 'cancelled')",
                // At most one running job per lock key: a row here is the lock.
                "CREATE TABLE job_locks (lock_key TEXT PRIMARY KEY, job_id TEXT NOT NULL)",
                "CREATE INDEX job_locks_job ON job_locks (job_id)",
                // The last tick each recurring schedule enqueued: the compare-and-set that makes a
                // tick fire once across every process running the scheduler.
                "CREATE TABLE job_schedules (name TEXT PRIMARY KEY, last_tick BIGINT NOT NULL)",
            ]),
        // Every job row is updated two or three times and the fetch index is partial on state,
        // so dead tuples pile up fast: vacuum the queue tables early and leave room for updates.
        Migration(
            version: 3, name: "jobs-autovacuum", statements: [],
            postgresTuning: [
                """
                ALTER TABLE jobs SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01,
                    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.02)
                """,
                "ALTER TABLE job_locks SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_cost_delay = 0)",
            ]),
        // The sync engine: a balance schedule beside the transaction one, recovery attempts,
        // the plan's explanation; user activity for adaptive schedules; the shared provider
        // limits; events (deduplicated); pending→posted links that can be undone.
        Migration(
            version: 4, name: "sync-engine",
            statements: [
                "ALTER TABLE connections ADD COLUMN next_balance_sync_at BIGINT",
                "ALTER TABLE connections ADD COLUMN recovery_attempts INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE connections ADD COLUMN schedule_note TEXT",
                "CREATE INDEX connections_balance_due ON connections (next_balance_sync_at) WHERE next_balance_sync_at IS NOT NULL",
                "CREATE INDEX connections_provider_id ON connections (provider, provider_connection_id)",
                "ALTER TABLE users ADD COLUMN last_active_at BIGINT",
                // One token bucket per provider, shared by every worker: `tokens` as of `refilled_at`.
                """
                CREATE TABLE provider_rate_limits (
                    provider TEXT PRIMARY KEY,
                    tokens DOUBLE PRECISION NOT NULL,
                    capacity DOUBLE PRECISION NOT NULL,
                    per_minute DOUBLE PRECISION NOT NULL,
                    refilled_at BIGINT NOT NULL
                )
                """,
                // What the provider last said about an account's quota for a scope.
                """
                CREATE TABLE provider_quotas (
                    provider TEXT NOT NULL,
                    account_key TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    quota_limit INTEGER NOT NULL,
                    remaining INTEGER NOT NULL,
                    reset_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (provider, account_key, scope)
                )
                """,
                """
                CREATE TABLE events (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    connection_id TEXT,
                    type TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    dedupe_key TEXT UNIQUE,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX events_user ON events (user_id, created_at DESC)",
                """
                CREATE TABLE transaction_links (
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    posted_provider_id TEXT NOT NULL,
                    pending_provider_id TEXT NOT NULL,
                    method TEXT NOT NULL,
                    confidence DOUBLE PRECISION NOT NULL,
                    created_at BIGINT NOT NULL,
                    undone_at BIGINT,
                    PRIMARY KEY (account_id, posted_provider_id)
                )
                """,
            ]),
        // Coverage and the ledger check: which days of each account were fetched, and whether
        // the stored rows move the way the bank's balance moves.
        Migration(
            version: 5, name: "account-ledger-check",
            statements: [
                "ALTER TABLE accounts ADD COLUMN coverage_from TEXT",
                "ALTER TABLE accounts ADD COLUMN coverage_to TEXT",
                "ALTER TABLE accounts ADD COLUMN ledger_baseline_minor BIGINT",
                "ALTER TABLE accounts ADD COLUMN ledger_issue TEXT",
                "ALTER TABLE accounts ADD COLUMN ledger_checked_at BIGINT",
            ]),
        // What a sync run reconciled and skipped, and its failure in words.
        Migration(
            version: 6, name: "sync-run-details",
            statements: [
                "ALTER TABLE sync_runs ADD COLUMN reconciled INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE sync_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE sync_runs ADD COLUMN error_message TEXT",
                "ALTER TABLE sync_runs ADD COLUMN notes TEXT",
            ]),
        // Categorization: why a row has its category, rules per tenant or user, and what each
        // user chose for a merchant.
        Migration(
            version: 7, name: "categorization",
            statements: [
                "ALTER TABLE transactions ADD COLUMN category_note TEXT",
                """
                CREATE TABLE category_rules (
                    id TEXT PRIMARY KEY,
                    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    conditions TEXT NOT NULL,
                    category TEXT NOT NULL,
                    enabled INTEGER NOT NULL DEFAULT 1,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX category_rules_tenant ON category_rules (tenant_id, priority)",
                """
                CREATE TABLE merchant_categories (
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    merchant_key TEXT NOT NULL,
                    category TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (user_id, merchant_key)
                )
                """,
            ]),
        // A tenant's own categorizer model, re-trained from its users' corrections.
        Migration(
            version: 8, name: "tenant-categorizer-models",
            statements: [
                """
                CREATE TABLE categorizer_models (
                    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
                    weights TEXT NOT NULL,
                    training_rows INTEGER NOT NULL,
                    corrections INTEGER NOT NULL,
                    trained_at BIGINT NOT NULL
                )
                """
            ]),
        // Notifications: events gain their tenant (tenant notices have no user) and a read
        // mark; outbound webhook endpoints, their deliveries and every attempt; per-tenant and
        // per-user notification preferences. SQLite cannot relax NOT NULL in place, so the
        // events table is rebuilt (the same text runs on PostgreSQL).
        Migration(
            version: 9, name: "notifications",
            statements: [
                """
                CREATE TABLE events_v9 (
                    id TEXT PRIMARY KEY,
                    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
                    connection_id TEXT,
                    type TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    dedupe_key TEXT UNIQUE,
                    created_at BIGINT NOT NULL,
                    read_at BIGINT
                )
                """,
                """
                INSERT INTO events_v9 (id, tenant_id, user_id, connection_id, type, payload, dedupe_key, created_at)
                SELECT e.id, u.tenant_id, e.user_id, e.connection_id, e.type, e.payload, e.dedupe_key, e.created_at
                FROM events e JOIN users u ON u.id = e.user_id
                """,
                "DROP TABLE events",
                "ALTER TABLE events_v9 RENAME TO events",
                "CREATE INDEX events_user ON events (user_id, created_at DESC)",
                "CREATE INDEX events_tenant ON events (tenant_id, created_at)",
                """
                CREATE TABLE webhook_endpoints (
                    id TEXT PRIMARY KEY,
                    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                    url TEXT NOT NULL,
                    description TEXT,
                    event_types TEXT NOT NULL,
                    secret_ciphertext TEXT NOT NULL,
                    previous_secret_ciphertext TEXT,
                    previous_secret_expires_at BIGINT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    failing_since BIGINT,
                    last_success_at BIGINT,
                    disabled_at BIGINT,
                    disabled_reason TEXT
                )
                """,
                "CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id)",
                """
                CREATE TABLE webhook_deliveries (
                    id TEXT PRIMARY KEY,
                    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
                    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                    tenant_id TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_status INTEGER,
                    last_outcome TEXT,
                    replay_of TEXT,
                    created_at BIGINT NOT NULL,
                    finished_at BIGINT
                )
                """,
                "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at)",
                "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)",
                """
                CREATE TABLE webhook_attempts (
                    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL,
                    started_at BIGINT NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    status_code INTEGER,
                    outcome TEXT NOT NULL,
                    error TEXT,
                    response_excerpt TEXT,
                    PRIMARY KEY (delivery_id, attempt)
                )
                """,
                // scope: `tenant:<id>` for a tenant's defaults, `user:<id>` for one user's.
                """
                CREATE TABLE notification_preferences (
                    scope TEXT PRIMARY KEY,
                    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                    settings TEXT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
            ]),
        // Jobs' unique keys: a partial unique index (keyed rows only) in place of the UNIQUE
        // column. Most jobs have no key, and the full index took an entry for every insert
        // and, on PostgreSQL, for every claim and completion too (non-HOT updates index every
        // row version): ~20 % of the server's work in a batched insert. SQLite cannot drop a
        // column constraint, so the table is rebuilt (the same text runs on PostgreSQL; the
        // queue is pruned, so it is small).
        Migration(
            version: 10, name: "jobs-partial-unique-key",
            statements: [
                """
                CREATE TABLE jobs_v10 (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    state TEXT NOT NULL,
                    priority INTEGER NOT NULL DEFAULT 0,
                    payload TEXT NOT NULL,
                    attempt INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    scheduled_at BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    attempted_at BIGINT,
                    finalized_at BIGINT,
                    lease_expires_at BIGINT,
                    leased_by TEXT,
                    timeout_ms BIGINT NOT NULL,
                    unique_key TEXT,
                    unique_finished_states TEXT NOT NULL DEFAULT ',',
                    lock_key TEXT,
                    result TEXT,
                    errors TEXT NOT NULL DEFAULT '[]',
                    access_token_hash TEXT NOT NULL
                )
                """,
                "INSERT INTO jobs_v10 (id, name, queue, state, priority, payload, attempt, max_attempts, scheduled_at, created_at, attempted_at, finalized_at, lease_expires_at, leased_by, timeout_ms, unique_key, unique_finished_states, lock_key, result, errors, access_token_hash) SELECT id, name, queue, state, priority, payload, attempt, max_attempts, scheduled_at, created_at, attempted_at, finalized_at, lease_expires_at, leased_by, timeout_ms, unique_key, unique_finished_states, lock_key, result, errors, access_token_hash FROM jobs",
                "DROP TABLE jobs",
                "ALTER TABLE jobs_v10 RENAME TO jobs",
                "CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL",
                "CREATE INDEX jobs_fetch ON jobs (queue, priority, scheduled_at, id) WHERE state IN ('available', 'retryable')",
                "CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running'",
                "CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE state IN ('completed', 'discarded', 'cancelled')",
            ],
            // Migration 3's storage settings belonged to the table that was dropped.
            postgresTuning: [
                """
                ALTER TABLE jobs SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01,
                    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.02)
                """
            ]),
    ]

    /// The newest schema version this binary knows.
    static var latestVersion: Int { migrations.last?.version ?? 0 }
}
