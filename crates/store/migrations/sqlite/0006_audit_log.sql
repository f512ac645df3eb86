-- The audit log (issue 14): who did what, when, from where, in which organization. Append-only.
--
-- No foreign keys: deleting a user, a client or an organization must not delete (or cascade into) the
-- history of what was done by or to them. Ids are kept as they were; names are looked up when read.
CREATE TABLE audit_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid              TEXT   NOT NULL UNIQUE,
    kind              TEXT   NOT NULL,
    occurred_at       BIGINT NOT NULL,
    actor_type        TEXT   NOT NULL,
    actor_user_id     BIGINT,
    actor_client_id   TEXT,
    actor_account     TEXT,
    client_address    TEXT,
    request_id        TEXT,
    organization_id   BIGINT,
    target_id         TEXT,
    target_user_id    BIGINT,
    target_client_id  TEXT,
    details           TEXT   NOT NULL
);
CREATE INDEX audit_events_occurred ON audit_events (occurred_at, id);
CREATE INDEX audit_events_actor_user ON audit_events (actor_user_id, occurred_at);

-- Which organizations' logs show an event: its own organization, and for what a user does on their own
-- account (API tokens, sign-ins), every organization the user belonged to at the time.
CREATE TABLE audit_event_organizations (
    organization_id BIGINT NOT NULL,
    event_id        BIGINT NOT NULL,
    PRIMARY KEY (organization_id, event_id)
);

-- An entry is never edited. (Deleting is left possible on SQLite: `gatehouse migrate --replace` empties the
-- tables of the store it overwrites, and SQLite has no statement-level trigger to tell that from removing
-- one entry. Whoever can write the SQLite file can rewrite it anyway; PostgreSQL guards more, see its 0006.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_event_organizations_no_update BEFORE UPDATE ON audit_event_organizations
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
