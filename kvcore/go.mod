module github.com/kvsuite/kv/kvcore

go 1.24

require github.com/evanphx/json-patch/v5 v5.9.11
