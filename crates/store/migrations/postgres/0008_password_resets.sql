-- Password resets by email (issue 11): one row per link mailed, by the SHA-256 of its secret, used once.
-- A user's resets go with the user.
CREATE TABLE password_resets (
    token_hash BYTEA   NOT NULL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);

-- Why an administrator rejected a client request (the console's review queue), kept beside the client
-- rather than on it: the client's row stays what the API reads and writes.
CREATE TABLE oauth_client_rejections (
    client_id   TEXT   NOT NULL PRIMARY KEY REFERENCES oauth_clients (id) ON DELETE CASCADE,
    reason      TEXT   NOT NULL,
    rejected_at BIGINT NOT NULL
);
