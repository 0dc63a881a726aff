-- Accounts of the internal authentication backend (mongoose.auth.internal),
-- keyed by domain so that one database serves every host.
-- password: the plain password (password.format = "plain"), else NULL.
-- pass_details: the SCRAM keys as JSON (password.format = "scram"), else NULL.
CREATE TABLE users (
    domain       TEXT NOT NULL,
    username     TEXT NOT NULL,
    password     TEXT,
    pass_details TEXT,
    created_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (domain, username)
) WITHOUT ROWID;
