-- Rosters of mod_roster (RFC 6121), keyed by the user's domain and name.
-- contact: the contact's bare JID.  group_names: a JSON array of strings.
-- subscription: none | to | from | both.  pending_out: ask='subscribe'.
-- pending_in: an unanswered request from the contact (kept across restarts
-- and delivered again at the next login), ask_message its status text.
-- approved: a pre-approval (RFC 6121 3.4).  listed: shown in roster gets.
CREATE TABLE roster_items (
    domain       TEXT NOT NULL,
    username     TEXT NOT NULL,
    contact      TEXT NOT NULL,
    name         TEXT,
    group_names  TEXT NOT NULL DEFAULT '[]',
    subscription TEXT NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'to', 'from', 'both')),
    pending_out  INTEGER NOT NULL DEFAULT 0,
    pending_in   INTEGER NOT NULL DEFAULT 0,
    approved     INTEGER NOT NULL DEFAULT 0,
    listed       INTEGER NOT NULL DEFAULT 1,
    ask_message  TEXT,
    PRIMARY KEY (domain, username, contact)
) WITHOUT ROWID;

-- The roster version of XEP-0237 per user; the row also serialises the
-- roster writes of one user.
CREATE TABLE roster_versions (
    domain   TEXT NOT NULL,
    username TEXT NOT NULL,
    version  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, username)
) WITHOUT ROWID;
