-- RFC 6749 §4.1.3: the token request must repeat redirect_uri exactly when the authorization request carried
-- it. A code stored before this column existed is taken to have carried it: the stricter reading.
ALTER TABLE oauth_codes ADD COLUMN redirect_uri_in_request BOOLEAN NOT NULL DEFAULT TRUE;
