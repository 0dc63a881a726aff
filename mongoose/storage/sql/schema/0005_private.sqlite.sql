-- Private XML storage of mod_private (XEP-0049): per user and namespace, the
-- stored elements of that namespace as XML text.
CREATE TABLE private_storage (
    domain    TEXT NOT NULL,
    username  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (domain, username, namespace)
) WITHOUT ROWID;
