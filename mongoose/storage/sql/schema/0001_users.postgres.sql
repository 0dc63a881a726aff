-- Accounts of the internal authentication backend (mongoose.auth.internal),
-- keyed by domain so that one database serves every host.
-- password: the plain password (password.format = "plain"), else NULL.
-- pass_details: the SCRAM keys as JSON (password.format = "scram"), else NULL.
-- COLLATE "C" sorts by code point, as SQLite does, whatever the database locale.
CREATE TABLE users (
    domain       TEXT COLLATE "C" NOT NULL,
    username     TEXT COLLATE "C" NOT NULL,
    password     TEXT,
    pass_details TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, username)
);
