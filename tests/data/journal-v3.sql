-- A journal written by autobot's schema version 3 (events counted exactly once: the
-- journal-v2.sql journal migrated by that release, then price_feed_updates_total's cursor and
-- counts), as `sqlite3 .dump` writes it. Never edit: tests open it.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE actions (
    key            TEXT PRIMARY KEY,            -- "kind:subject:round"
    kind           TEXT NOT NULL,
    subject_id     INTEGER NOT NULL,            -- lottery or asset id (0 for a bot rotation)
    action_id      INTEGER,                     -- 1/2/5/6/7; NULL = no bot attestation
    recipe         TEXT NOT NULL,               -- JSON
    reason         TEXT NOT NULL,
    due_at         INTEGER NOT NULL,            -- chain seconds
    state          TEXT NOT NULL CHECK (state IN ('planned', 'announced', 'waiting',
                       'executing', 'recording', 'done', 'failed', 'moot', 'parked')),
    operator       TEXT,
    timelock_secs  INTEGER,
    execute_at     INTEGER,                     -- chain seconds, part of the hash
    action_hash    BLOB,
    calls          TEXT,                        -- JSON of the materialised admin calls
    progress       INTEGER NOT NULL DEFAULT 0,
    outcome        TEXT CHECK (outcome IN ('success', 'failure', 'moot', 'escalated')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_check_at  INTEGER,
    error_code     INTEGER,
    error_name     TEXT,
    error_message  TEXT,
    created_wall   REAL NOT NULL,
    updated_wall   REAL NOT NULL,
    created_chain  INTEGER NOT NULL,
    updated_chain  INTEGER NOT NULL
);
INSERT INTO actions VALUES('close:1:0','close',1,1,'{"type": "x"}','sales ended',100,'executing','0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',0,101,X'abababababababababababababababababababababababababababababababab','[]',0,NULL,0,NULL,NULL,NULL,NULL,1700000000.0,1700000000.0,100,101);
INSERT INTO actions VALUES('cancel:5:3','cancel',5,7,'{"type": "x"}','sales ended',101,'parked',NULL,NULL,NULL,NULL,NULL,0,NULL,0,NULL,5897,'E_NOT_YET','parked',1700000000.0,1700000000.0,100,103);
INSERT INTO actions VALUES('refund:5:0','refund',5,6,'{"type": "x"}','sales ended',102,'planned',NULL,NULL,NULL,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,1700000000.0,1700000000.0,100,102);
INSERT INTO actions VALUES('clamp:2:3','clamp',2,NULL,'{"asset_id":2,"type":"clamp"}','operator request 3',110,'planned',NULL,NULL,NULL,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,1700000100.0,1700000100.0,110,110);
CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_utc       TEXT NOT NULL,                  -- "YYYY-MM-DD HH:MM"
    wall         REAL NOT NULL,
    type         TEXT NOT NULL,
    description  TEXT NOT NULL,
    responsible  TEXT NOT NULL,
    links        TEXT NOT NULL DEFAULT '',
    action_key   TEXT,
    action_hash  TEXT,
    tx_hash      TEXT
);
INSERT INTO incidents VALUES(1,'2023-11-14 22:13',1700000000.0,'Инцидент','parked: needs a person','autobot','','cancel:5:3','0x0202020202020202020202020202020202020202020202020202020202020202',NULL);
CREATE TABLE lottery_checks (
    lottery_id     INTEGER PRIMARY KEY,
    next_check_at  INTEGER NOT NULL              -- chain seconds
);
INSERT INTO lottery_checks VALUES(5,900);
INSERT INTO lottery_checks VALUES(6,950);
CREATE TABLE IF NOT EXISTS "requests" (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('cancel', 'clamp', 'refund', 'retry',
                        'park', 'rotate')),
    subject         TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    requested_by    TEXT NOT NULL,
    requested_wall  REAL NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done',
                        'rejected')),
    handled_wall    REAL,
    result          TEXT
);
INSERT INTO requests VALUES(1,'cancel','5','{"reason": 3}','alice',1700000000.0,'done',1700000000.0,'planned cancel');
INSERT INTO requests VALUES(2,'refund','5','{}','bob',1700000000.0,'pending',NULL,NULL);
INSERT INTO requests VALUES(3,'clamp','2','{}','carol',1700000100.0,'pending',NULL,NULL);
CREATE TABLE terminal_lotteries (
    lottery_id     INTEGER PRIMARY KEY,
    status         INTEGER NOT NULL,             -- 6 FINALIZED or 7 CANCELED (archived)
    marked_wall    REAL NOT NULL,
    marked_chain   INTEGER NOT NULL
);
INSERT INTO terminal_lotteries VALUES(9,6,1700000000.0,104);
CREATE TABLE transactions (
    tx_hash          TEXT PRIMARY KEY,
    action_key       TEXT NOT NULL REFERENCES actions (key),
    action_hash      BLOB NOT NULL,              -- the action's hash when this was signed
    purpose          TEXT NOT NULL CHECK (purpose IN ('announce', 'execute', 'record')),
    call_index       INTEGER NOT NULL,
    call             TEXT NOT NULL,              -- JSON: module, function, typed args
    secondary        TEXT NOT NULL DEFAULT '[]', -- JSON list of co-signer addresses
    sender           TEXT NOT NULL,
    sequence_number  INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,           -- host wall seconds
    raw              BLOB NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('signed', 'submitted', 'committed',
                         'aborted', 'dropped')),
    error_code       INTEGER,
    error_name       TEXT,
    error_message    TEXT,
    submissions      INTEGER NOT NULL DEFAULT 0,
    created_wall     REAL NOT NULL,
    submitted_wall   REAL,
    settled_wall     REAL
);
INSERT INTO transactions VALUES('0x0101010101010101010101010101010101010101010101010101010101010101','close:1:0',X'abababababababababababababababababababababababababababababababab','execute',0,'{"module": "lottery_registry"}','[]','0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',3,1700000060,X'0001ff','aborted',-1,'E_X','Move abort',1,1700000000.0,1700000000.0,1700000000.0);
INSERT INTO transactions VALUES('0x0000000000000000000000000000000000000000000000000000000000000000','refund:5:0',X'0101010101010101010101010101010101010101010101010101010101010101','execute',0,'{}','["0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]','0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',4,1700000060,X'00','signed',NULL,NULL,NULL,0,1700000000.0,NULL,NULL);
INSERT INTO transactions VALUES('0x0000000000000000000000000000000000000000000000000000000000000001','refund:5:0',X'0101010101010101010101010101010101010101010101010101010101010101','execute',1,'{}','["0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]','0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',5,1700000060,X'01','signed',NULL,NULL,NULL,0,1700000000.0,NULL,NULL);
INSERT INTO transactions VALUES('0x0000000000000000000000000000000000000000000000000000000000000002','refund:5:0',X'0101010101010101010101010101010101010101010101010101010101010101','execute',2,'{}','["0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]','0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',6,1700000060,X'02','signed',NULL,NULL,NULL,0,1700000000.0,NULL,NULL);
CREATE TABLE event_cursors (
    event_type   TEXT PRIMARY KEY,            -- "price_feed::PriceFeedUpdatedEvent"
    next_height  INTEGER NOT NULL,            -- the first block not yet counted
    seen         INTEGER NOT NULL             -- events of the type counted (its handle's counter)
);
INSERT INTO event_cursors VALUES('price_feed::PriceFeedUpdatedEvent',140,11);
CREATE TABLE event_counts (
    event_type   TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,            -- the asset id
    count        INTEGER NOT NULL,
    PRIMARY KEY (event_type, subject_id)
);
INSERT INTO event_counts VALUES('price_feed::PriceFeedUpdatedEvent',1,5);
INSERT INTO event_counts VALUES('price_feed::PriceFeedUpdatedEvent',2,1);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('incidents',1);
INSERT INTO sqlite_sequence VALUES('requests',3);
CREATE INDEX actions_open ON actions (state)
    WHERE state NOT IN ('done', 'failed', 'moot', 'parked');
CREATE INDEX actions_subject ON actions (kind, subject_id);
CREATE UNIQUE INDEX transactions_live_sequence ON transactions (sender, sequence_number)
    WHERE state IN ('signed', 'submitted', 'committed', 'aborted');
CREATE INDEX transactions_action ON transactions (action_key);
CREATE INDEX requests_pending ON requests (id) WHERE state = 'pending';
COMMIT;
