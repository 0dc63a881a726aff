-- Privacy lists of mod_privacy (XEP-0016); mod_blocking (XEP-0191) keeps the
-- blocklist as the list named "blocking".  Items are a JSON array in order.
CREATE TABLE privacy_list (
    domain    TEXT COLLATE "C" NOT NULL,
    username  TEXT COLLATE "C" NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    items     TEXT NOT NULL,
    PRIMARY KEY (domain, username, name)
);

-- The name of each user's default list.
CREATE TABLE privacy_default_list (
    domain    TEXT COLLATE "C" NOT NULL,
    username  TEXT COLLATE "C" NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (domain, username)
);

-- mod_blocklist: users an administrator barred from logging in, with a reason.
CREATE TABLE blocklist_users (
    domain    TEXT COLLATE "C" NOT NULL,
    username  TEXT COLLATE "C" NOT NULL,
    reason    TEXT,
    PRIMARY KEY (domain, username)
);
