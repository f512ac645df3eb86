-- OAuth 2.0 / OpenID Connect. Times are BIGINT milliseconds; secrets (client secrets, codes, refresh
-- tokens, browser sessions) are stored only as SHA-256 digests.

CREATE TABLE oauth_clients (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    client_type   TEXT    NOT NULL,
    secret_hash   BLOB,
    redirect_uris TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    owner_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    allow_refresh BOOLEAN NOT NULL DEFAULT FALSE,
    created       BIGINT  NOT NULL
);

CREATE TABLE oauth_grants (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id       TEXT   NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations (id) ON DELETE SET NULL,
    scopes          TEXT   NOT NULL,
    created         BIGINT NOT NULL,
    last_used       BIGINT,
    revoked_at      BIGINT
);
-- One live consent per user and client.
CREATE UNIQUE INDEX oauth_grants_live ON oauth_grants (user_id, client_id) WHERE revoked_at IS NULL;

CREATE TABLE oauth_families (
    id         TEXT   PRIMARY KEY,
    client_id  TEXT   NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    grant_id   BIGINT REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created    BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_families_by_grant ON oauth_families (grant_id);

CREATE TABLE oauth_codes (
    code_hash       BLOB   PRIMARY KEY,
    client_id       TEXT   NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grant_id        BIGINT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    family_id       TEXT   NOT NULL REFERENCES oauth_families (id) ON DELETE CASCADE,
    redirect_uri    TEXT   NOT NULL,
    scopes          TEXT   NOT NULL,
    organization_id BIGINT,
    code_challenge  TEXT   NOT NULL,
    nonce           TEXT,
    auth_time       BIGINT NOT NULL,
    created         BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

CREATE TABLE oauth_refresh_tokens (
    token_hash      BLOB   PRIMARY KEY,
    family_id       TEXT   NOT NULL REFERENCES oauth_families (id) ON DELETE CASCADE,
    parent_hash     BLOB,
    client_id       TEXT   NOT NULL,
    user_id         BIGINT NOT NULL,
    grant_id        BIGINT NOT NULL,
    scopes          TEXT   NOT NULL,
    organization_id BIGINT,
    auth_time       BIGINT NOT NULL,
    created         BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX oauth_refresh_tokens_by_family ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_by_parent ON oauth_refresh_tokens (parent_hash);

-- Access tokens revoked one by one (RFC 7009), kept until they would have expired anyway.
CREATE TABLE oauth_revoked_access_tokens (
    jti        TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE oauth_sessions (
    session_hash BLOB   PRIMARY KEY,
    user_id      BIGINT REFERENCES users (id) ON DELETE CASCADE,
    auth_time    BIGINT,
    created      BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE oauth_signing_keys (
    kid           TEXT   PRIMARY KEY,
    private_pkcs8 BLOB   NOT NULL,
    created       BIGINT NOT NULL,
    retire_at     BIGINT
);
