-- Privacy lists of mod_privacy (XEP-0016); mod_blocking (XEP-0191) keeps the
-- blocklist as the list named "blocking".  Items are a JSON array in order.
CREATE TABLE privacy_list (
    domain    TEXT NOT NULL,
    username  TEXT NOT NULL,
    name      TEXT NOT NULL,
    items     TEXT NOT NULL,
    PRIMARY KEY (domain, username, name)
) WITHOUT ROWID;

-- The name of each user's default list.
CREATE TABLE privacy_default_list (
    domain    TEXT NOT NULL,
    username  TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (domain, username)
) WITHOUT ROWID;

-- mod_blocklist: users an administrator barred from logging in, with a reason.
CREATE TABLE blocklist_users (
    domain    TEXT NOT NULL,
    username  TEXT NOT NULL,
    reason    TEXT,
    PRIMARY KEY (domain, username)
) WITHOUT ROWID;
