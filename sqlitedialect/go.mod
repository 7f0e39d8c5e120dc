module github.com/kvsuite/kv/sqlitedialect

go 1.26.0

require (
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
)

require github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000 // indirect

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/kvstream => ../kvstream

replace github.com/kvsuite/kv/kvlock => ../kvlock
