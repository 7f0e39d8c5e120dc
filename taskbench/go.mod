module github.com/kvsuite/kv/taskbench

go 1.26.0
