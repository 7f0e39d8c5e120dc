-- When each lease's current owner took it (Unix microseconds UTC): set when
-- the lease changes hands, kept when its owner extends it, NULL once it is
-- released. Leases granted before this column existed have NULL (unknown)
-- until they next change hands.
ALTER TABLE leases ADD COLUMN acquired INTEGER;
