module github.com/kvsuite/kv/examples

go 1.26.0

require (
	github.com/kvsuite/kv/backend-sqlite v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvcache v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvgraph v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvnats v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstate v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvtask v0.0.0-00010101000000-000000000000
	github.com/nats-io/nats.go v1.56.0
)

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.20.0 // indirect
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000 // indirect
	github.com/kvsuite/kv/sqlitedialect v0.0.0-00010101000000-000000000000 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	modernc.org/libc v1.79.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.61.1 // indirect
)

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvtask => ../kvtask

replace github.com/kvsuite/kv/kvgraph => ../kvgraph

replace github.com/kvsuite/kv/kvstate => ../kvstate

replace github.com/kvsuite/kv/backend-sqlite => ../backend-sqlite

replace github.com/kvsuite/kv/backend-postgres => ../backend-postgres

replace github.com/kvsuite/kv/backend-rqlite => ../backend-rqlite

replace github.com/kvsuite/kv/conformance => ../conformance

replace github.com/kvsuite/kv/kvcache => ../kvcache

replace github.com/kvsuite/kv/kvnats => ../kvnats

replace github.com/kvsuite/kv/sqlitedialect => ../sqlitedialect
