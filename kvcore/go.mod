module github.com/kvsuite/kv/kvcore

go 1.26.0

require (
	github.com/evanphx/json-patch/v5 v5.9.11 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
