-- Claim with names seeks each name's due tasks in this index, so that a
-- backlog of other names' due tasks costs it nothing (tasks_pending holds
-- them among the names it asks for).
CREATE INDEX IF NOT EXISTS tasks_pending_name ON tasks (name, priority DESC, scheduled_for, id) WHERE status = 'pending';
