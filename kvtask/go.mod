module github.com/kvsuite/kv/kvtask

go 1.24

require (
	github.com/google/uuid v1.6.0
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/robfig/cron/v3 v3.0.1
)

replace github.com/kvsuite/kv/kvcore => ../kvcore
