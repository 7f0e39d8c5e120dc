module github.com/kvsuite/kv/integration

go 1.26.0

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvstate => ../kvstate

replace github.com/kvsuite/kv/kvnats => ../kvnats

replace github.com/kvsuite/kv/backend-sqlite => ../backend-sqlite

replace github.com/kvsuite/kv/backend-postgres => ../backend-postgres

require (
	github.com/kvsuite/kv/backend-postgres v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/backend-rqlite v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/backend-sqlite v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvgraph v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstate v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/sqlitedialect v0.0.0-00010101000000-000000000000
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.9.0-default-no-op // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.13.0
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvnats v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvtask v0.0.0-00010101000000-000000000000 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/nats-io/jwt/v2 v2.8.3 // indirect
	github.com/nats-io/nats-server/v2 v2.15.3
	github.com/nats-io/nats.go v1.56.0
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/rqlite/gorqlite v0.0.0-20260504155303-50d445fd0ab9 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	modernc.org/libc v1.79.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.61.1
)

replace github.com/kvsuite/kv/kvtask => ../kvtask

replace github.com/kvsuite/kv/kvgraph => ../kvgraph

replace github.com/kvsuite/kv/conformance => ../conformance

replace github.com/kvsuite/kv/backend-rqlite => ../backend-rqlite

replace github.com/kvsuite/kv/sqlitedialect => ../sqlitedialect
