-- The periodic purge deletes expired rows by expiry time. Without these indexes each purge scanned whole
-- tables, under the write lock on SQLite, with every refresh token ever issued in one of them.
CREATE INDEX oauth_refresh_tokens_by_expiry ON oauth_refresh_tokens (expires_at);
CREATE INDEX oauth_codes_by_expiry ON oauth_codes (expires_at);
CREATE INDEX oauth_sessions_by_expiry ON oauth_sessions (expires_at);
CREATE INDEX oauth_revoked_access_tokens_by_expiry ON oauth_revoked_access_tokens (expires_at);
