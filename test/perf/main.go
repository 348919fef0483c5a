// Command perf compares composition functions side by side on the same
// machine: this repository's function, a floor function (test/perf/floor)
// that emits the function's own output while doing nothing else, the same
// floor reading its request and writing its response through the SDK's
// request and response packages (the SDK floor), and optionally
// function-go-templating serving a template that emits the same
// resources. Each is a separate process serving RunFunction over gRPC on
// loopback; the harness sends the full example's create and reconcile
// requests and measures, per function:
//
//   - CPU per request: the process's utime+stime (/proc/<pid>/stat) over a
//     batch of sequential requests, divided by the batch's size;
//   - latency: p50 and p99 of the calls, as the client sees them;
//   - peak RSS: VmHWM (/proc/<pid>/status) at the end of a round;
//   - cold start: from exec to the first successful response (and, of it,
//     from exec to the port accepting connections).
//
// Rounds are interleaved (each round starts every function afresh, in a
// rotating order), so that a machine shared with other work loads each side
// alike. The run is bounded by -rounds, -requests and -timeout. See
// docs/performance.md; `make perf-compare` runs it.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/procfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

// A contender is one function under comparison.
type contender struct {
	name string
	// args starts it listening (insecure) on addr.
	args func(addr string) []string
	path string
	// input is the request's function input (function-go-templating's
	// template), or nil.
	input *fnv1.RunFunctionRequest
}

// scenario is one kind of request.
type scenario struct {
	name string
	req  *fnv1.RunFunctionRequest
}

// sample is what one round measured of one contender.
type sample struct {
	// listening is from exec to the port accepting connections, coldStart
	// to the first response.
	listening time.Duration
	coldStart time.Duration
	peakRSSKB int64
	// anonKB and fileKB are RssAnon and RssFile at the end of the round.
	anonKB, fileKB int64
	// startFaults are the page faults (minor and major) up to the first
	// response, startAnonKB and startFileKB RssAnon and RssFile then: on a
	// virtual machine where a fault costs microseconds they are most of
	// the cold start.
	startFaults              int64
	startAnonKB, startFileKB int64
	// startSections and sections are the binary's mapped bytes by ELF
	// section at the first response and at the end of the round
	// (mappedSections), when asked for.
	startSections, sections map[string]int64
	// per scenario
	cpuPerReq map[string]time.Duration
	latencies map[string][]time.Duration
	resources map[string]int
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		fnPath     = flag.String("function", "", "this repository's function binary (required)")
		floorPath  = flag.String("floor", "", "the floor function binary, built from test/perf/floor (required)")
		gotplPath  = flag.String("gotemplating", "", "a function-go-templating binary; left out of the comparison when empty")
		baseline   = flag.String("baseline", "", "another build of this repository's function (for example of the main branch) to compare as \"baseline\"")
		root       = flag.String("root", ".", "the repository's root (for examples/)")
		example    = flag.String("example", "full", "the example: examples/xr-<example>.yaml and examples/observed/<example>.yaml")
		rounds     = flag.Int("rounds", 5, "interleaved rounds; each starts every function afresh")
		requests   = flag.Int("requests", 200, "requests of each scenario per function per round")
		warmup     = flag.Int("warmup", 20, "requests of each scenario before measuring, per round")
		timeout    = flag.Duration("timeout", 15*time.Minute, "stop the whole run after this long")
		outDir     = flag.String("work", "", "directory for recorded responses and the template (default: a temporary one)")
		showTmpl   = flag.Bool("print-template", false, "print the go-templating template and exit")
		markdownTo = flag.String("markdown", "", "also write the results table to this file")
		sections   = flag.Bool("sections", false, "also print, per round, how much of each section of the binary is mapped at the first response and at the end")
	)
	flag.Parse()
	if *fnPath == "" || *floorPath == "" {
		return errors.New("-function and -floor are required")
	}
	if *rounds < 1 || *requests < 1 {
		return errors.New("-rounds and -requests must be at least 1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	create, reconcile, err := fnrequest.Example(filepath.Join(*root, "examples"), *example)
	if err != nil {
		return err
	}
	scenarios := []scenario{{name: "create", req: create}, {name: "reconcile", req: reconcile}}

	work := *outDir
	if work == "" {
		if work, err = os.MkdirTemp("", "perf-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}

	// The function's own responses: what the floor replays and what the
	// go-templating template reproduces.
	own := ourContender(*fnPath, "function")
	recorded, err := record(ctx, own, scenarios)
	if err != nil {
		return fmt.Errorf("cannot record the function's responses: %w", err)
	}
	createPath, reconcilePath := filepath.Join(work, "create.binpb"), filepath.Join(work, "reconcile.binpb")
	if err := writeResponses(map[string]*fnv1.RunFunctionResponse{createPath: recorded["create"], reconcilePath: recorded["reconcile"]}); err != nil {
		return err
	}

	contenders := []contender{own}
	if *baseline != "" {
		contenders = append(contenders, ourContender(*baseline, "baseline"))
	}
	floors, err := floors(ctx, *floorPath, createPath, reconcilePath, recorded, scenarios)
	if err != nil {
		return err
	}
	contenders = append(contenders, floors...)
	if *gotplPath != "" {
		tmpl, err := goTemplate(recorded["create"], recorded["reconcile"], reconcile)
		if err != nil {
			return err
		}
		if *showTmpl {
			_, err := fmt.Fprintln(os.Stdout, tmpl)
			return err
		}
		gotpl, err := goTemplating(ctx, *gotplPath, tmpl, recorded, scenarios)
		if err != nil {
			return err
		}
		contenders = append(contenders, gotpl)
	}
	// Every contender runs from a copy in the work directory. How a binary
	// came to be in the page cache changes how much of it the kernel maps
	// per page fault: the function's binary just written by the Go linker
	// showed about 4 MB more RssFile (and so peak RSS) than a copy of the
	// same bytes. Copying each binary the same way measures them alike.
	for i := range contenders {
		dst := filepath.Join(work, "bin-"+contenders[i].name)
		if err := copyBinary(contenders[i].path, dst); err != nil {
			return err
		}
		contenders[i].path = dst
	}

	samples := map[string][]sample{}
	for r := range *rounds {
		// Rotate the order, so no function always runs first (or last).
		for i := range contenders {
			c := contenders[(i+r)%len(contenders)]
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stopped after %d rounds: %w", r, err)
			}
			s, err := measure(ctx, c, scenarios, *warmup, *requests, *sections)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, c.name, err)
			}
			samples[c.name] = append(samples[c.name], s)
			fmt.Fprintf(os.Stderr, "round %d/%d %-14s cold %6.1f ms (%5d faults, anon %4.1f, file %4.1f)  rss %5.1f MB (anon %4.1f, file %4.1f)  cpu/req create %6.3f ms reconcile %6.3f ms\n",
				r+1, *rounds, c.name, ms(s.coldStart), s.startFaults, kbToMB(s.startAnonKB), kbToMB(s.startFileKB),
				kbToMB(s.peakRSSKB), kbToMB(s.anonKB), kbToMB(s.fileKB), ms(s.cpuPerReq["create"]), ms(s.cpuPerReq["reconcile"]))
			if *sections {
				fmt.Fprintf(os.Stderr, "round %d/%d %-14s mapped MB at first response: %s\nround %d/%d %-14s mapped MB at the end: %s\n",
					r+1, *rounds, c.name, formatSections(s.startSections), r+1, *rounds, c.name, formatSections(s.sections))
			}
		}
	}

	table := report(contenders, scenarios, samples, *rounds, *requests)
	if _, err := fmt.Fprint(os.Stdout, table); err != nil {
		return err
	}
	if *markdownTo != "" {
		return os.WriteFile(*markdownTo, []byte(table), 0o600)
	}
	return nil
}

// goTemplating is function-go-templating serving tmpl, once it has been
// checked to emit what the function emits: the comparison is fair only if
// both do the same job.
func goTemplating(ctx context.Context, path, tmpl string, recorded map[string]*fnv1.RunFunctionResponse, scenarios []scenario) (contender, error) {
	input, err := goTemplatingInput(tmpl)
	if err != nil {
		return contender{}, err
	}
	c := contender{
		name:  "go-templating",
		path:  path,
		input: input,
		args:  func(addr string) []string { return []string{"--insecure", "--address", addr} },
	}
	theirs, err := record(ctx, c, scenarios)
	if err != nil {
		return contender{}, fmt.Errorf("cannot record go-templating's responses: %w", err)
	}
	for _, sc := range scenarios {
		msg, same := compareDesired(recorded[sc.name], theirs[sc.name])
		if !same {
			return contender{}, fmt.Errorf("%s: %s", sc.name, msg)
		}
		fmt.Fprintf(os.Stderr, "%s: %s\n", sc.name, msg)
	}
	return c, nil
}

// sdkFloor names the floor that reads and writes through the SDK.
const sdkFloor = "sdk-floor"

// floorContender is the floor function replaying the recorded responses.
func floorContender(path, name, createPath, reconcilePath string, flags ...string) contender {
	return contender{
		name: name,
		path: path,
		args: func(addr string) []string {
			return append([]string{"--insecure", "--address", addr, "--create", createPath, "--reconcile", reconcilePath}, flags...)
		},
	}
}

// writeResponses writes each response, as binary protobuf, to its path.
func writeResponses(byPath map[string]*fnv1.RunFunctionResponse) error {
	for path, rsp := range byPath {
		b, err := proto.Marshal(rsp)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// floors are the floor function bare and through the SDK, each checked to
// answer as the function did.
func floors(ctx context.Context, path, createPath, reconcilePath string, recorded map[string]*fnv1.RunFunctionResponse, scenarios []scenario) ([]contender, error) {
	out := []contender{
		floorContender(path, "floor", createPath, reconcilePath),
		floorContender(path, sdkFloor, createPath, reconcilePath, "--through-sdk"),
	}
	for _, c := range out {
		if err := replays(ctx, c, recorded, scenarios); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replays checks that c answers each scenario exactly as the function did:
// a floor that emitted less would make the function look dearer than it is.
func replays(ctx context.Context, c contender, recorded map[string]*fnv1.RunFunctionResponse, scenarios []scenario) error {
	theirs, err := record(ctx, c, scenarios)
	if err != nil {
		return fmt.Errorf("cannot record the %s's responses: %w", c.name, err)
	}
	for _, sc := range scenarios {
		want, got := proto.CloneOf(recorded[sc.name]), proto.CloneOf(theirs[sc.name])
		want.Meta, got.Meta = nil, nil // The tag is each request's.
		if diff := gocmp.Diff(want, got, protocmp.Transform()); diff != "" {
			return fmt.Errorf("%s: the %s does not answer as the function did: -function, +%s:\n%s", sc.name, c.name, c.name, diff)
		}
	}
	return nil
}

func ourContender(path, name string) contender {
	return contender{
		name: name,
		path: path,
		args: func(addr string) []string {
			return []string{"--insecure", "--address", addr, "--metrics-address="}
		},
	}
}

// record starts c once and returns its response to each scenario.
func record(ctx context.Context, c contender, scenarios []scenario) (map[string]*fnv1.RunFunctionResponse, error) {
	p, err := start(ctx, c, scenarios[0].req)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	out := map[string]*fnv1.RunFunctionResponse{}
	for _, s := range scenarios {
		rsp, err := p.call(ctx, c, s.req)
		if err != nil {
			return nil, err
		}
		out[s.name] = rsp
	}
	return out, nil
}

// measure starts c, times its first response, warms it up, then measures
// each scenario.
func measure(ctx context.Context, c contender, scenarios []scenario, warmup, requests int, sections bool) (sample, error) {
	s := sample{cpuPerReq: map[string]time.Duration{}, latencies: map[string][]time.Duration{}, resources: map[string]int{}}
	p, err := start(ctx, c, scenarios[0].req)
	if err != nil {
		return s, err
	}
	defer p.stop()
	s.coldStart, s.listening = p.coldStart, p.listening
	if s.startFaults, err = pageFaults(p.cmd.Process.Pid); err != nil {
		return s, err
	}
	if _, s.startAnonKB, s.startFileKB, err = memoryKB(p.cmd.Process.Pid); err != nil {
		return s, err
	}
	if sections {
		if s.startSections, err = mappedSections(p.cmd.Process.Pid); err != nil {
			return s, err
		}
	}

	for _, sc := range scenarios {
		for range warmup {
			if _, err := p.call(ctx, c, sc.req); err != nil {
				return s, err
			}
		}
		before, err := cpuTime(p.cmd.Process.Pid)
		if err != nil {
			return s, err
		}
		lat := make([]time.Duration, 0, requests)
		for range requests {
			t := time.Now()
			rsp, err := p.call(ctx, c, sc.req)
			if err != nil {
				return s, err
			}
			lat = append(lat, time.Since(t))
			s.resources[sc.name] = len(rsp.GetDesired().GetResources())
		}
		after, err := cpuTime(p.cmd.Process.Pid)
		if err != nil {
			return s, err
		}
		s.cpuPerReq[sc.name] = (after - before) / time.Duration(requests)
		s.latencies[sc.name] = lat
	}
	if sections {
		if s.sections, err = mappedSections(p.cmd.Process.Pid); err != nil {
			return s, err
		}
	}
	s.peakRSSKB, s.anonKB, s.fileKB, err = memoryKB(p.cmd.Process.Pid)
	return s, err
}

// process is a running function and a client connected to it.
type process struct {
	cmd       *exec.Cmd
	exited    chan struct{}
	conn      *grpc.ClientConn
	client    fnv1.FunctionRunnerServiceClient
	listening time.Duration
	coldStart time.Duration
}

// start runs c on a free loopback port and returns once it has answered
// first (a real request, so the cold start includes whatever a function
// builds on its first call); coldStart is the time from exec to that answer.
func start(ctx context.Context, c contender, first *fnv1.RunFunctionRequest) (*process, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, c.path, c.args(addr)...) //nolint:gosec // The caller names the binaries.
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", c.path, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	// Poll for the listener every millisecond: gRPC's own reconnect backoff
	// would add up to a second to the cold start.
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before serving", c.path)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		default:
		}
		conn, err := (&net.Dialer{Timeout: 100 * time.Millisecond}).DialContext(ctx, "tcp", addr)
		if err == nil {
			p.listening = time.Since(t0)
			_ = conn.Close()
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		p.stop()
		return nil, err
	}
	p.client = fnv1.NewFunctionRunnerServiceClient(p.conn)
	if _, err := p.call(ctx, c, first); err != nil {
		p.stop()
		return nil, err
	}
	p.coldStart = time.Since(t0)
	return p, nil
}

var errFatal = errors.New("fatal result")

// call sends req (with c's input) and fails on a fatal result.
func (p *process) call(ctx context.Context, c contender, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	if c.input != nil {
		req = proto.CloneOf(req)
		req.Input = c.input.GetInput()
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rsp, err := p.client.RunFunction(cctx, req)
	if err != nil {
		return nil, fmt.Errorf("RunFunction: %w", err)
	}
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			return rsp, fmt.Errorf("%w: %s", errFatal, r.GetMessage())
		}
	}
	return rsp, nil
}

func (p *process) stop() {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func freePort() (string, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// cpuTime is the process's user and system CPU time so far
// (/proc/<pid>/stat's utime and stime, which procfs converts from clock
// ticks; rounded, as a tick count over 100 is not exact in binary).
func cpuTime(pid int) (time.Duration, error) {
	st, err := procStat(pid)
	return time.Duration(math.Round(st.CPUTime() * float64(time.Second))), err
}

// pageFaults is the process's minor and major page faults so far
// (/proc/<pid>/stat's minflt and majflt).
func pageFaults(pid int) (int64, error) {
	st, err := procStat(pid)
	return int64(st.MinFlt + st.MajFlt), err //nolint:gosec // A process's faults fit.
}

// procStat is /proc/<pid>/stat.
func procStat(pid int) (procfs.ProcStat, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStat{}, err
	}
	return p.Stat()
}

// copyBinary copies the executable src to the new file dst.
func copyBinary(src, dst string) error {
	in, err := os.Open(src) //nolint:gosec // The caller names the binaries.
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", src, err)
	}
	defer func() { _ = in.Close() }() // Only read.

	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o700) //nolint:gosec // In the run's work directory.
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("cannot copy %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", dst, err)
	}
	return nil
}

// memoryKB is the process's VmHWM (peak RSS) and, of its RSS now, the
// anonymous memory (the heap, stacks) and the binary's pages (RssFile), in KB
// (/proc/<pid>/status).
func memoryKB(pid int) (peak, anon, file int64, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, 0, 0, err
	}
	if st.VmHWM == 0 {
		return 0, 0, 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return int64(st.VmHWM / 1024), int64(st.RssAnon / 1024), int64(st.RssFile / 1024), nil //nolint:gosec // Sizes of one process fit.
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func kbToMB(kb int64) float64 { return float64(kb) / 1024 }

func median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// report renders the results as a markdown table: medians over rounds for
// CPU per request and cold start, pooled latencies, the highest peak RSS,
// and CPU ratios to go-templating and to the two floors.
func report(cs []contender, scs []scenario, samples map[string][]sample, rounds, requests int) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "%d interleaved rounds, %d requests of each scenario per function per round; %d CPUs (%s), %s, host %s, %s\n\n",
		rounds, requests, runtime.NumCPU(), cpuModel(), runtime.Version(), host, time.Now().UTC().Format(time.RFC3339))
	cpu := func(name, sc string) time.Duration {
		ds := make([]time.Duration, 0, len(samples[name]))
		for _, s := range samples[name] {
			ds = append(ds, s.cpuPerReq[sc])
		}
		return median(ds)
	}
	b.WriteString("| function | scenario | resources | CPU/request (median of rounds) | vs go-templating | vs floor | vs SDK floor | p50 | p99 |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range cs {
		for _, sc := range scs {
			var lat []time.Duration
			for _, s := range samples[c.name] {
				lat = append(lat, s.latencies[sc.name]...)
			}
			ratio := func(other string) string {
				if _, ok := samples[other]; !ok || cpu(other, sc.name) == 0 {
					return "-"
				}
				return fmt.Sprintf("%.2fx", float64(cpu(c.name, sc.name))/float64(cpu(other, sc.name)))
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %.3f ms | %s | %s | %s | %.3f ms | %.3f ms |\n", c.name, sc.name,
				samples[c.name][0].resources[sc.name], ms(cpu(c.name, sc.name)), ratio("go-templating"), ratio("floor"), ratio(sdkFloor),
				ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)))
		}
	}
	b.WriteString("\n| function | cold start to first response (median; min-max) | of which to listening (median) | page faults to first response (median) | peak RSS, VmHWM (max of rounds) | binary |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range cs {
		cold := make([]time.Duration, 0, len(samples[c.name]))
		listening := make([]time.Duration, 0, len(samples[c.name]))
		faults := make([]int64, 0, len(samples[c.name]))
		var rss int64
		for _, s := range samples[c.name] {
			cold = append(cold, s.coldStart)
			listening = append(listening, s.listening)
			faults = append(faults, s.startFaults)
			rss = max(rss, s.peakRSSKB)
		}
		size := "-"
		if fi, err := os.Stat(c.path); err == nil {
			size = fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
		}
		fmt.Fprintf(&b, "| %s | %.1f ms (%.1f-%.1f) | %.1f ms | %d | %.1f MB | %s |\n", c.name, ms(median(cold)), ms(slices.Min(cold)), ms(slices.Max(cold)),
			ms(median(listening)), median(faults), kbToMB(rss), size)
	}
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// compareDesired says how many of the function's desired composed resources
// the other response emits identically (content and readiness), and whether
// it emits exactly those.
func compareDesired(ours, theirs *fnv1.RunFunctionResponse) (string, bool) {
	same := 0
	var differ []string
	for name, r := range ours.GetDesired().GetResources() {
		o, ok := theirs.GetDesired().GetResources()[name]
		if ok {
			// go-templating leaves an empty annotations object where it
			// removed its own annotations: the same object to Crossplane.
			o = proto.CloneOf(o)
			md := o.GetResource().GetFields()["metadata"].GetStructValue()
			if a := md.GetFields()["annotations"].GetStructValue(); a != nil && len(a.GetFields()) == 0 {
				delete(md.Fields, "annotations")
			}
		}
		if ok && proto.Equal(r.GetResource(), o.GetResource()) && r.GetReady() == o.GetReady() {
			same++
			continue
		}
		differ = append(differ, name)
		if len(differ) == 1 {
			// The first difference in full, to see why.
			a, _ := protojson.Marshal(r)
			b, _ := protojson.Marshal(o)
			fmt.Fprintf(os.Stderr, "%s, the function's: %s\n%s, go-templating's: %s\n", name, a, name, b)
		}
	}
	slices.Sort(differ)
	n := len(ours.GetDesired().GetResources())
	return fmt.Sprintf("go-templating emits %d of the function's %d composed resources identically (it emits %d); differ: %v",
		same, n, len(theirs.GetDesired().GetResources()), differ), same == n && len(theirs.GetDesired().GetResources()) == n
}
