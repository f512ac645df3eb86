-- Roles and memberships (issue 12): an organization's region, its custom roles, and its invitations.
-- Built-in roles and permissions are code (gatehouse_domain::roles), not rows: they never change per store.
-- Organization and team memberships keep their `role` column; it now holds any built-in role's name.

ALTER TABLE organizations ADD COLUMN region_id BIGINT;

-- Permissions are stored by name (`team:view,team:members:view`): names are what roles list, and a name
-- never changes meaning.
CREATE TABLE custom_roles (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT   NOT NULL,
    category        TEXT   NOT NULL,
    description     TEXT,
    permissions     TEXT   NOT NULL,
    created         BIGINT NOT NULL
);
CREATE INDEX custom_roles_by_organization ON custom_roles (organization_id);

-- An invitation names the invitee by email; they accept it signed in as that email, so it needs no secret.
CREATE TABLE organization_invitations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT   NOT NULL,
    role            TEXT   NOT NULL,
    invited_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created         BIGINT NOT NULL,
    UNIQUE (organization_id, email)
);
CREATE INDEX organization_invitations_by_email ON organization_invitations (email);
