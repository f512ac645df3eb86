-- Revocations as an append-only feed. Every node follows it (polling, plus LISTEN/NOTIFY on PostgreSQL) and
-- drops what it has cached, so a deletion made anywhere (another node, the CLI) is honoured everywhere
-- within the poll interval. Rows are pruned once no cache can still hold what they revoke.
CREATE TABLE revocations (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT   NOT NULL,
    subject TEXT   NOT NULL,
    created BIGINT NOT NULL
);
