// Package conformance is part of kv (work in progress).
package conformance
