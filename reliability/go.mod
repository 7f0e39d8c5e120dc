module github.com/kvsuite/kv/reliability

go 1.26.0
