//go:build !unix

package requestpath

import "time"

// cpuTime cannot read the process's CPU time here (no getrusage), so the
// benchmark reports no cpu-ns/op.
func cpuTime() (time.Duration, bool) { return 0, false }
