module github.com/kvsuite/kv/sqlitedialect

go 1.26.0

require github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000

replace github.com/kvsuite/kv/kvcore => ../kvcore
