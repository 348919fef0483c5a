package stack

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one server of the stack, run as a child of the test binary with
// its output in a log file.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed

	mu      sync.Mutex
	peakRSS uint64 // bytes, VmHWM read at the last sample
}

// StartProcess starts bin with args and extra environment variables (added to
// a minimal environment, not this process's), logging to <logDir>/<name>.log.
func StartProcess(logDir, name, bin string, args, env []string) (*Process, error) {
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create log folder: %w", err)
	}
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath) //nolint:gosec // path built from the test's own log folder
	if err != nil {
		return nil, fmt.Errorf("cannot create log of %s: %w", name, err)
	}
	//nolint:gosec,noctx // binaries and arguments come from the test; Stop ends the process, not a context
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	// Kill the server if the test binary dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("cannot start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid of the running process.
func (p *Process) Pid() int {
	if p.cmd == nil {
		return os.Getpid()
	}
	return p.cmd.Process.Pid
}

// selfProcess stands for the test binary itself in memory reports: it hosts
// the provider simulator, the package registry and the clients.
func selfProcess(name string) *Process {
	return &Process{Name: name, done: make(chan struct{})}
}

// Exited returns an error describing the exit if the process is no longer
// running, and nil while it runs.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s exited: %w (log: %s)", p.Name, p.err, p.LogPath)
		}
		return fmt.Errorf("%s exited (log: %s)", p.Name, p.LogPath)
	default:
		return nil
	}
}

// Stop asks the process to terminate and kills it after grace.
func (p *Process) Stop(grace time.Duration) {
	p.sampleMemory() // the peak is lost once the process is gone
	if p.cmd == nil {
		return // this test binary: it stops itself
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// sampleMemory reads the process's current and peak resident set sizes and
// remembers the peak; it returns the current size (0 once exited).
func (p *Process) sampleMemory() uint64 {
	if p.Exited() != nil {
		return 0
	}
	rss, hwm, err := readRSS(p.Pid())
	if err != nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if hwm > p.peakRSS {
		p.peakRSS = hwm
	}
	return rss
}

// PeakRSS is the highest resident set size the process reached while sampled.
func (p *Process) PeakRSS() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS
}

// TailLog returns the last n lines of the process's log, to explain failures.
func (p *Process) TailLog(n int) string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.LogPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readRSS returns VmRSS and VmHWM (peak) of a process, in bytes.
func readRSS(pid int) (rss, hwm uint64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("cannot read memory of process %d: %w", pid, err)
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		kib, perr := strconv.ParseUint(fields[1], 10, 64)
		if perr != nil {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			rss = kib * 1024
		case "VmHWM:":
			hwm = kib * 1024
		}
	}
	return rss, hwm, nil
}

// memoryMonitor samples the summed resident memory of the stack's processes,
// because the peak of the sum is what a machine must have free; the sum of
// each process's own peak (VmHWM) overstates it.
type memoryMonitor struct {
	mu        sync.Mutex
	processes []*Process
	peakTotal uint64
	stop      chan struct{}
	stopped   chan struct{}
}

func newMemoryMonitor(interval time.Duration) *memoryMonitor {
	m := &memoryMonitor{stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(m.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memoryMonitor) add(p *Process) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.processes = append(m.processes, p)
}

func (m *memoryMonitor) sample() {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total uint64
	for _, p := range m.processes {
		total += p.sampleMemory()
	}
	if total > m.peakTotal {
		m.peakTotal = total
	}
}

func (m *memoryMonitor) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.stopped
}

// MemoryReport summarises the stack's memory use.
type MemoryReport struct {
	PeakTotal uint64            // highest sampled sum of VmRSS over all processes
	PeakByPID map[string]uint64 // each process's own peak (VmHWM)
}

func (r MemoryReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "peak total RSS %s", mib(r.PeakTotal))
	names := make([]string, 0, len(r.PeakByPID))
	for n := range r.PeakByPID {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %s", n, mib(r.PeakByPID[n])))
	}
	fmt.Fprintf(&b, " (per-process peaks: %s)", strings.Join(parts, ", "))
	return b.String()
}

func (m *memoryMonitor) report() MemoryReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := MemoryReport{PeakTotal: m.peakTotal, PeakByPID: map[string]uint64{}}
	for _, p := range m.processes {
		if peak := p.PeakRSS(); peak > r.PeakByPID[p.Name] {
			r.PeakByPID[p.Name] = peak
		}
	}
	return r
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
