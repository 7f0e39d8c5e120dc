module github.com/kvsuite/kv/conformance

go 1.26.0

require github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
)

require (
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvtask v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvtask => ../kvtask
