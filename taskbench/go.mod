module github.com/kvsuite/kv/taskbench

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/kvsuite/kv/backend-postgres v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/backend-rqlite v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/backend-sqlite v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvtask v0.0.0-00010101000000-000000000000
	github.com/riverqueue/river v0.51.1
	github.com/riverqueue/river/riverdriver/riverpgxv5 v0.51.1
)

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000 // indirect
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000 // indirect
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000 // indirect
	github.com/kvsuite/kv/sqlitedialect v0.0.0-00010101000000-000000000000 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/riverqueue/river/riverdriver v0.51.1 // indirect
	github.com/riverqueue/river/rivershared v0.51.1 // indirect
	github.com/riverqueue/river/rivertype v0.51.1 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	github.com/rqlite/gorqlite v0.0.0-20260504155303-50d445fd0ab9 // indirect
	github.com/tidwall/gjson v1.20.0 // indirect
	github.com/tidwall/match v1.2.0 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	modernc.org/libc v1.79.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.61.1 // indirect
)

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/backend-sqlite => ../backend-sqlite

replace github.com/kvsuite/kv/backend-postgres => ../backend-postgres

replace github.com/kvsuite/kv/backend-rqlite => ../backend-rqlite

replace github.com/kvsuite/kv/conformance => ../conformance

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvtask => ../kvtask

replace github.com/kvsuite/kv/sqlitedialect => ../sqlitedialect
