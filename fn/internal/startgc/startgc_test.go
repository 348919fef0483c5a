package startgc

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetByOperator(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want bool
	}{
		"Neither":      {env: map[string]string{"GODEBUG": "gctrace=1"}, want: false},
		"GOGC":         {env: map[string]string{"GOGC": "200"}, want: true},
		"GOGCOff":      {env: map[string]string{"GOGC": "off"}, want: true},
		"GOMEMLIMIT":   {env: map[string]string{"GOMEMLIMIT": "512MiB"}, want: true},
		"EmptyGOGCSet": {env: map[string]string{"GOGC": ""}, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if diff := cmp.Diff(tc.want, setByOperator(lookup)); diff != "" {
				t.Errorf("setByOperator(%v): -want +got:\n%s", tc.env, diff)
			}
		})
	}
}

// gcSettings reads GOGC and the memory limit without changing them.
func gcSettings() (percent int, memLimit int64) {
	percent = debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1) // A negative limit only reads it.
}

// firstRun is false once TestHeldUntilDone has run (go test -count 2 runs it
// again in the same process, after Done).
var firstRun = true

// TestHeldUntilDone checks this test binary's own start: package init held
// collection off, and Done gives Go's defaults back, once.
func TestHeldUntilDone(t *testing.T) {
	if !firstRun {
		t.Skip("start-up was over when this test first ran")
	}
	firstRun = false
	if setByOperator(os.LookupEnv) {
		percent, memLimit := gcSettings()
		if held {
			t.Errorf("held with GOGC or GOMEMLIMIT set (GOGC %d, limit %d)", percent, memLimit)
		}
		t.Skip("GOGC or GOMEMLIMIT is set: startgc leaves them alone")
	}
	percent, memLimit := gcSettings()
	if diff := cmp.Diff([2]int64{-1, limit}, [2]int64{int64(percent), memLimit}); diff != "" {
		t.Fatalf("during start-up, [GOGC, memory limit]: -want +got:\n%s", diff)
	}
	Done()
	percent, memLimit = gcSettings()
	if diff := cmp.Diff([2]int64{100, math.MaxInt64}, [2]int64{int64(percent), memLimit}); diff != "" {
		t.Errorf("after Done, [GOGC, memory limit]: -want +got:\n%s", diff)
	}
	debug.SetGCPercent(50)
	Done()
	if percent, _ := gcSettings(); percent != 50 {
		t.Errorf("a second Done changed GOGC to %d, want it left at 50", percent)
	}
	debug.SetGCPercent(100)
}
