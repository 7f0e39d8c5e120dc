module github.com/kvsuite/kv/kvcore

go 1.24
