// Package startgc holds garbage collection off while the function starts:
// from early in package initialization until its first response.
//
// Starting allocates about 10 MB, most of which stays live (client-go's and
// the composed kinds' schemes, protobuf registries, the XRD's validator).
// The runtime's first collections are due at a 4 MB heap, so it collected
// twice while initializing and again during the first request, each time
// marking what was about to stay live anyway: on 2 cores, 5-7 ms of the
// 25 ms from exec to the first response (docs/performance.md, "Start-up
// without collections"). Held off, the heap grows by start-up's short-lived
// garbage, bounded by a soft memory limit; the first collection after
// start-up frees it, and from then on the collector runs at Go's defaults.
// Peak RSS under load is unchanged: the steady state's heap is larger than
// start-up's.
//
// An operator's GOGC or GOMEMLIMIT is left alone: the package does nothing
// when either is set.
package startgc

import (
	"math"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

const (
	// limit bounds the memory while collection is held off: the runtime
	// collects anyway if it reaches it. Serving, the function holds about
	// 8 MB of anonymous memory (RssAnon) before its first request.
	limit = 64 << 20
	// longest is how long collection stays off if no call comes: Crossplane
	// calls a function as soon as it serves, but a process that is never
	// called should not keep start-up's garbage.
	longest = 10 * time.Second
)

// The package imports only the standard library, so Go initializes it
// before the function's heavy dependencies (packages are initialized in
// import-path order once their imports are).
func init() { //nolint:gochecknoinits // Must run before the other packages' inits allocate.
	if setByOperator(os.LookupEnv) {
		return
	}
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(-1)
	held = true
	time.AfterFunc(longest, Done)
}

var held bool

// setByOperator reports whether the environment sets GOGC or GOMEMLIMIT.
func setByOperator(lookup func(string) (string, bool)) bool {
	_, gogc := lookup("GOGC")
	_, memLimit := lookup("GOMEMLIMIT")
	return gogc || memLimit
}

// Done returns the collector to Go's defaults (GOGC=100, no memory limit)
// once start-up is over: main calls it after the first response. Only the
// first call does anything.
func Done() { done() }

var done = sync.OnceFunc(func() {
	if held {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
})
