-- Messages kept by mod_offline (XEP-0160) for users with no available resource.
-- stamp_us / expire_us: microseconds since the Unix epoch (UTC); expire_us is
-- NULL unless the message asked to expire (XEP-0023).  packet: the stanza XML.
CREATE TABLE offline_messages (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain    TEXT COLLATE "C" NOT NULL,
    username  TEXT COLLATE "C" NOT NULL,
    sender    TEXT NOT NULL,
    stamp_us  BIGINT NOT NULL,
    expire_us BIGINT,
    packet    TEXT NOT NULL
);
CREATE INDEX offline_messages_user ON offline_messages (domain, username, id);
CREATE INDEX offline_messages_stamp ON offline_messages (domain, stamp_us);
CREATE INDEX offline_messages_expire ON offline_messages (domain, expire_us)
    WHERE expire_us IS NOT NULL;
