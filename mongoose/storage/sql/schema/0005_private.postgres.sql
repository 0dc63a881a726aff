-- Private XML storage of mod_private (XEP-0049): per user and namespace, the
-- stored elements of that namespace as XML text.
CREATE TABLE private_storage (
    domain    TEXT COLLATE "C" NOT NULL,
    username  TEXT COLLATE "C" NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (domain, username, namespace)
);
