module github.com/kvsuite/kv/examples

go 1.26.0
