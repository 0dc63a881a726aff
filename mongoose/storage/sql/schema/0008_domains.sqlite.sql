-- Dynamic domains (MongooseIM service_domain_db, GraphQL "domain" category):
-- XMPP domains added at run time with their host type; enabled = 0 while an
-- administrator has disabled the domain (it refuses logins).
-- domain_admins: the domain administrator's password as SCRAM keys
-- (PasswordSecret details JSON), never the password itself.
CREATE TABLE domains (
    domain    TEXT NOT NULL PRIMARY KEY,
    host_type TEXT NOT NULL,
    enabled   INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE domain_admins (
    domain  TEXT NOT NULL PRIMARY KEY,
    secret  TEXT NOT NULL
) WITHOUT ROWID;
