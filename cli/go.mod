module github.com/kvsuite/kv/cli

go 1.24
