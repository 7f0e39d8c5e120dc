// Package postgreskv is part of kv (work in progress).
package postgreskv
