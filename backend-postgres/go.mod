module github.com/kvsuite/kv/backend-postgres

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/kvsuite/kv/conformance v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvtask v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/conformance => ../conformance

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvtask => ../kvtask
