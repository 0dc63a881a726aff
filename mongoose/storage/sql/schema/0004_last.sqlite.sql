-- Last activity of mod_last (XEP-0012): when each user last logged out and
-- the status text of their last unavailable presence.
-- seconds: Unix time in whole seconds (UTC).
CREATE TABLE last_activity (
    domain   TEXT NOT NULL,
    username TEXT NOT NULL,
    seconds  INTEGER NOT NULL,
    status   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (domain, username)
) WITHOUT ROWID;
CREATE INDEX last_activity_seconds ON last_activity (domain, seconds);
