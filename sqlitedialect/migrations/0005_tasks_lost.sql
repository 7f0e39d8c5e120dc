-- lost counts a task's attempts whose runner was lost (the lease expired
-- before an outcome was recorded): Claim adds one for each task it takes
-- over from an expired lease. at_most_once (0 or 1) makes kvtask fail a
-- task instead of running a lost attempt again. Existing tasks: 0 and 0.
ALTER TABLE tasks ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN at_most_once INTEGER NOT NULL DEFAULT 0;
