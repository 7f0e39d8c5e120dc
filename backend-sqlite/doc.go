// Package sqlitekv is part of kv (work in progress).
package sqlitekv
