-- Core identity and API tokens. Times are BIGINT milliseconds since the epoch, ids are integers, secrets
-- are stored only as SHA-256 digests: the same SQL text then runs on SQLite and PostgreSQL.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT,
    language      TEXT    NOT NULL DEFAULT 'en',
    timezone      TEXT    NOT NULL DEFAULT 'UTC',
    locale        TEXT    NOT NULL DEFAULT 'en',
    country       TEXT,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created       BIGINT  NOT NULL
);

CREATE TABLE organizations (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT   NOT NULL,
    zone      TEXT   NOT NULL,
    api_limit BIGINT NOT NULL,
    timezone  TEXT   NOT NULL DEFAULT 'UTC',
    country   TEXT,
    created   BIGINT NOT NULL
);

CREATE TABLE organization_members (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT   NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_by_user ON organization_members (user_id);

CREATE TABLE teams (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT   NOT NULL,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created         BIGINT NOT NULL
);
CREATE INDEX teams_by_organization ON teams (organization_id);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT   NOT NULL DEFAULT 'member',
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE api_tokens (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    BIGINT NOT NULL,
    token_hash BLOB   NOT NULL UNIQUE,
    prefix     TEXT   NOT NULL,
    label      TEXT   NOT NULL,
    scopes     TEXT   NOT NULL,
    zone       TEXT   NOT NULL,
    expires_at BIGINT,
    last_used  BIGINT,
    PRIMARY KEY (user_id, created)
);
