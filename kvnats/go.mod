module github.com/kvsuite/kv/kvnats

go 1.26.0

require (
	github.com/kvsuite/kv/kvcore v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvlock v0.0.0-00010101000000-000000000000
	github.com/kvsuite/kv/kvstream v0.0.0-00010101000000-000000000000
	github.com/nats-io/nats.go v1.56.0
)

require (
	github.com/klauspost/compress v1.20.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/kvsuite/kv/kvcore => ../kvcore

replace github.com/kvsuite/kv/kvlock => ../kvlock

replace github.com/kvsuite/kv/kvstream => ../kvstream
