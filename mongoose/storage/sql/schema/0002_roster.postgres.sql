-- Rosters of mod_roster (RFC 6121), keyed by the user's domain and name.
-- contact: the contact's bare JID.  group_names: a JSON array of strings.
-- subscription: none | to | from | both.  pending_out: ask='subscribe'.
-- pending_in: an unanswered request from the contact (kept across restarts
-- and delivered again at the next login), ask_message its status text.
-- approved: a pre-approval (RFC 6121 3.4).  listed: shown in roster gets.
-- COLLATE "C" sorts by code point, as SQLite does.
CREATE TABLE roster_items (
    domain       TEXT COLLATE "C" NOT NULL,
    username     TEXT COLLATE "C" NOT NULL,
    contact      TEXT COLLATE "C" NOT NULL,
    name         TEXT,
    group_names  TEXT NOT NULL DEFAULT '[]',
    subscription TEXT NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'to', 'from', 'both')),
    pending_out  BOOLEAN NOT NULL DEFAULT FALSE,
    pending_in   BOOLEAN NOT NULL DEFAULT FALSE,
    approved     BOOLEAN NOT NULL DEFAULT FALSE,
    listed       BOOLEAN NOT NULL DEFAULT TRUE,
    ask_message  TEXT,
    PRIMARY KEY (domain, username, contact)
);

-- The roster version of XEP-0237 per user; the row also serialises the
-- roster writes of one user (it is locked by each write transaction).
CREATE TABLE roster_versions (
    domain   TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    version  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, username)
);
