-- kvtask's queue. Times are INTEGER Unix microseconds UTC (NULL: not set);
-- timeout is INTEGER microseconds; unique_key is NULL for none; payload is
-- the JSON text as given.
CREATE TABLE IF NOT EXISTS tasks (
    id               TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    priority         INTEGER NOT NULL,
    unique_key       TEXT,
    created          INTEGER NOT NULL,
    scheduled_for    INTEGER NOT NULL,
    started          INTEGER,
    completed        INTEGER,
    attempts         INTEGER NOT NULL,
    max_retries      INTEGER NOT NULL,
    timeout          INTEGER NOT NULL,
    last_error       TEXT    NOT NULL,
    locked_by        TEXT    NOT NULL,
    locked_until     INTEGER,
    token            INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL
);

-- Claim walks the pending tasks in claim order and the running ones by
-- lease expiry; both partial indexes hold only the rows they serve.
CREATE INDEX IF NOT EXISTS tasks_pending ON tasks (priority DESC, scheduled_for, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS tasks_running ON tasks (locked_until) WHERE status = 'running';
-- At most one pending or running task per unique key (NULLs never clash).
CREATE UNIQUE INDEX IF NOT EXISTS tasks_unique ON tasks (unique_key) WHERE status IN ('pending', 'running');
-- List: oldest first, with or without a status filter.
CREATE INDEX IF NOT EXISTS tasks_by_created ON tasks (created, id);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, created, id);

-- Cron schedules: template is the task inserted at every tick, as JSON.
CREATE TABLE IF NOT EXISTS schedules (
    name     TEXT    NOT NULL PRIMARY KEY,
    spec     TEXT    NOT NULL,
    template TEXT    NOT NULL,
    next     INTEGER NOT NULL
) WITHOUT ROWID;
