-- vCards of mod_vcard (XEP-0054), one per user, as the <vCard/> XML text.
-- fn / nickname: lower-cased copies of FN and NICKNAME for directory searches.
CREATE TABLE vcards (
    domain   TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    vcard    TEXT NOT NULL,
    fn       TEXT NOT NULL DEFAULT '',
    nickname TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (domain, username)
);
