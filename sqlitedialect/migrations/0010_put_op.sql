-- A put as one short statement: an INSERT into the view put_op, which has no
-- rows, runs its INSTEAD OF trigger, which does the put's whole work. The
-- rqlite backend writes puts this way: every statement it sends travels in
-- the request, the Raft log and each node's apply, so one short statement
-- per put costs rqlite far less than the same work spelled out in every
-- request. (The SQLite backend writes puts in Go inside its transaction; the
-- view is there for it too, since both share one schema.)
--
-- The columns of a put: namespace and key; version, the version a new record
-- gets (1, or a restored record's own); expect, the version the live record
-- must have (-1: any, 0: none); type and value; created and updated, the
-- times a new record gets; expires (NULL: never); now, the time of the
-- write (Unix microseconds, as every time here).
--
-- The trigger, in order: refuses the put if the live record's version (0 if
-- there is none) is not expect ('kv: version mismatch'), or if the live record
-- is at the highest version, 9223372036854775807, which a put would pass
-- ('kv: version limit'); records an expired record's removal in the stream (a
-- delete entry with its last version and no value); records the put (a
-- create, or an update with the live record's version + 1); writes the
-- record, treating an expired one as absent. A refusal aborts the
-- statement and its transaction.
CREATE VIEW IF NOT EXISTS put_op AS
SELECT NULL AS namespace, NULL AS key, NULL AS version, NULL AS expect, NULL AS type,
       NULL AS value, NULL AS created, NULL AS updated, NULL AS expires, NULL AS now
WHERE 0;

CREATE TRIGGER IF NOT EXISTS put_op_apply INSTEAD OF INSERT ON put_op BEGIN
    SELECT RAISE(ABORT, 'kv: version mismatch')
    WHERE NEW.expect >= 0 AND coalesce((SELECT version FROM records
        WHERE namespace = NEW.namespace AND key = NEW.key AND (expires IS NULL OR expires > NEW.now)), 0) <> NEW.expect;
    SELECT RAISE(ABORT, 'kv: version limit')
    WHERE EXISTS (SELECT 1 FROM records
        WHERE namespace = NEW.namespace AND key = NEW.key AND (expires IS NULL OR expires > NEW.now)
        AND version >= 9223372036854775807);
    INSERT INTO stream (namespace, key, action, version, type, value, ts)
    SELECT namespace, key, 'delete', version, type, NULL, NEW.now FROM records
    WHERE namespace = NEW.namespace AND key = NEW.key AND expires IS NOT NULL AND expires <= NEW.now;
    INSERT INTO stream (namespace, key, action, version, type, value, ts)
    SELECT NEW.namespace, NEW.key, CASE WHEN cur.v IS NULL THEN 'create' ELSE 'update' END,
           coalesce(cur.v + 1, NEW.version), NEW.type, NEW.value, NEW.now
    FROM (SELECT (SELECT version FROM records
        WHERE namespace = NEW.namespace AND key = NEW.key AND (expires IS NULL OR expires > NEW.now)) AS v) AS cur;
    INSERT INTO records (namespace, key, version, type, created, updated, expires, value)
    VALUES (NEW.namespace, NEW.key, NEW.version, NEW.type, NEW.created, NEW.updated, NEW.expires, NEW.value)
    ON CONFLICT (namespace, key) DO UPDATE SET
        version = CASE WHEN records.expires IS NOT NULL AND records.expires <= NEW.now
            THEN excluded.version ELSE records.version + 1 END,
        created = CASE WHEN records.expires IS NOT NULL AND records.expires <= NEW.now
            THEN excluded.created ELSE records.created END,
        type = excluded.type, updated = excluded.updated, expires = excluded.expires, value = excluded.value;
END;
