module github.com/kvsuite/kv/backend-rqlite

go 1.26.0

require (
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvtask v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/sqlitedialect v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/robfig/cron/v3 v3.0.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/kvsuite/kv/conformance v0.0.0-00010101000000-000000000000
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/rqlite/gorqlite v0.0.0-20260504155303-50d445fd0ab9
	golang.org/x/sys v0.49.0 // indirect
	modernc.org/libc v1.79.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.61.1
)

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/conformance => ../conformance

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvtask => ../kvtask

replace github.com/kvsuite/kv/sqlitedialect => ../sqlitedialect
