//go:build !unix

package sqlitekv

import "time"

// processCPU returns the user and system CPU time the process has used, or
// false where it cannot tell.
func processCPU() (time.Duration, bool) { return 0, false }
