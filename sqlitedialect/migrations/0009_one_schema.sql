-- From this version on the SQLite and rqlite backends share one schema:
-- the SQLite backend's, as migrations 0001 to 0006 left it. A SQLite database
-- needs no change (the rqlite backend converts its own tables in its
-- migration 9), so this step only records the version both reach.
SELECT 1;
