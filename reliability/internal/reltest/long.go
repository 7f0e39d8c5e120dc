package reltest

import "os"

// Long reports whether the long form was asked for (KV_RELIABILITY_LONG=1).
var Long = os.Getenv("KV_RELIABILITY_LONG") == "1"

// ShortOrLong returns the short-form value, or the long one with
// KV_RELIABILITY_LONG=1.
func ShortOrLong[T any](short, longForm T) T {
	if Long {
		return longForm
	}
	return short
}
