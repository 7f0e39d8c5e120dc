module github.com/kvsuite/kv/sqlitedialect

go 1.26.0
