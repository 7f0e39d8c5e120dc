// Package rqlitekv is part of kv (work in progress).
package rqlitekv
