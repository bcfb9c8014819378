// Package sandbox runs untrusted Python programs against their tests in a
// contained child process, for scoring code tasks (HumanEval, MBPP).
//
// Each check runs python3 as a child process in a fresh temporary directory,
// in its own process group, with a wall-clock timeout after which the whole
// group is killed. Before the candidate runs, a small harness (harness.py)
// sets resource limits with setrlimit (address space, CPU seconds, no new
// processes, file size, open files, no core dumps) and installs a Python
// audit hook that refuses writes outside the temporary directory, process
// creation, sockets and ctypes. Where the platform allows it, the child also
// gets empty network and PID namespaces (Linux: CLONE_NEWNET|CLONE_NEWPID,
// inside a new user namespace when not root), so it has no network at all
// and every process it starts dies with it. Output is capped. Runner reports
// which layers applied.
//
// The audit hook is not a security boundary on its own (see harness.py); the
// resource limits, the process-group kill and the namespaces are enforced by
// the kernel. Results are memoised by a hash of the program and the limits,
// so a simulator's repeated replies do not run Python again.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed harness.py
var harness string

// ErrNoPython is wrapped by the error New returns when the interpreter
// cannot be found or does not run.
var ErrNoPython = errors.New("python3 not available")

// Defaults of Config.
const (
	DefaultTimeout     = 20 * time.Second
	DefaultCPUTime     = 10 * time.Second
	DefaultMemoryBytes = 512 << 20
	DefaultFileBytes   = 1 << 20
	DefaultOutputBytes = 64 << 10
	DefaultCacheSize   = 16384
	// MaxProgramBytes is the largest program (setup, code and test
	// together) Check accepts.
	MaxProgramBytes = 4 << 20
)

// Config configures a Runner. The zero value is usable.
type Config struct {
	// Python is the interpreter: a path or a name looked up on PATH; empty
	// means "python3". A launcher script (a pyenv shim) is resolved once to
	// the interpreter it starts.
	Python string
	// Timeout is the wall-clock limit of one check; 0 means DefaultTimeout.
	// It is twice the CPU limit by default, so a slow but correct reference
	// solution still passes on a loaded machine.
	Timeout time.Duration
	// CPUTime is the CPU-time limit (RLIMIT_CPU, whole seconds, at least
	// one); 0 means the smaller of DefaultCPUTime and Timeout.
	CPUTime time.Duration
	// MemoryBytes is the address-space limit (RLIMIT_AS); 0 means
	// DefaultMemoryBytes.
	MemoryBytes int64
	// FileBytes is the largest file the program may write (RLIMIT_FSIZE);
	// 0 means DefaultFileBytes.
	FileBytes int64
	// OutputBytes caps what is kept of stdout and of stderr; the rest is
	// read and dropped. 0 means DefaultOutputBytes.
	OutputBytes int
	// MaxParallel bounds concurrent interpreter processes; 0 means
	// runtime.NumCPU().
	MaxParallel int
	// CacheSize bounds the memo of results, in entries; 0 means
	// DefaultCacheSize and a negative value disables the memo.
	CacheSize int
	// TempRoot is the folder the per-check temporary directories are made
	// in; empty means os.TempDir().
	TempRoot string
	// NoNamespaces turns off the network and PID namespaces even where the
	// platform allows them.
	NoNamespaces bool
	// Tag, when set, is passed as an extra argument to every interpreter
	// process, so tests can find stray processes by their command line.
	Tag string
}

// Program is one candidate with its tests. The harness runs Code, then
// Setup, then Test, in one namespace; the program passes when all three run
// without an exception.
type Program struct {
	// Code is the candidate.
	Code string
	// Setup runs between the candidate and the tests (MBPP's
	// test_setup_code, which builds fixtures from the candidate's classes);
	// may be empty.
	Setup string
	// Test holds the assertions, e.g. "assert f(1) == 2" lines or a
	// HumanEval check function followed by its call.
	Test string
}

// Status is how a check ended.
type Status string

// The statuses of a check.
const (
	// StatusPass: every test passed.
	StatusPass Status = "pass"
	// StatusFail: an assertion of the tests failed.
	StatusFail Status = "fail"
	// StatusError: a syntax error or an exception other than an assertion.
	StatusError Status = "error"
	// StatusTimeout: the wall-clock or CPU limit was hit; the process group was killed.
	StatusTimeout Status = "timeout"
	// StatusMemory: the memory limit was hit.
	StatusMemory Status = "memory"
	// StatusCrashed: the interpreter ended without a verdict (killed by a
	// signal, os._exit, a crash).
	StatusCrashed Status = "crashed"
)

// Result is the outcome of one check.
type Result struct {
	Status Status `json:"status"`
	// Failure is the first failing assertion (with the value its left side
	// had, when the harness could say) or the exception, on one line;
	// empty on a pass.
	Failure string `json:"failure,omitempty"`
	// Stdout and Stderr are the program's output, each capped at
	// Config.OutputBytes; Truncated says whether either was cut.
	Stdout    string `json:"stdout,omitempty"`
	Stderr    string `json:"stderr,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Duration is the wall time of the interpreter run (of the original run
	// when Cached).
	Duration time.Duration `json:"duration_ns"`
	// Cached is true when the result came from the memo.
	Cached bool `json:"cached,omitempty"`
}

// Passed reports whether every test passed.
func (r Result) Passed() bool { return r.Status == StatusPass }

// Note is the one-line summary a fixer reads: "all tests pass" or what failed.
func (r Result) Note() string {
	switch r.Status {
	case StatusPass:
		return "all tests pass"
	case StatusTimeout:
		return "timed out (an infinite loop or a far too slow algorithm)"
	case StatusMemory:
		return "ran out of memory"
	}
	if r.Failure != "" {
		return r.Failure
	}
	return string(r.Status)
}

// Stats counts a runner's work.
type Stats struct {
	// Checks is every call of Check that returned a result.
	Checks int64
	// Runs is how many of them started an interpreter.
	Runs int64
	// CacheHits is how many were answered from the memo (or by waiting for
	// an identical check already running).
	CacheHits int64
}

// Runner runs programs in the sandbox. It is safe for concurrent use.
type Runner struct {
	cfg       Config
	python    string
	isolation Isolation
	sem       chan struct{}
	memo      *memo
	// noHook leaves the audit hook out; only this package's tests set it,
	// to check the kernel-enforced layers on their own.
	noHook bool
	checks atomic.Int64
	runs   atomic.Int64
	hits   atomic.Int64
}

// New resolves the interpreter, checks it runs, probes which isolation the
// platform allows and returns a Runner. It fails with an error wrapping
// ErrNoPython when the interpreter is missing or broken.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if !platformSupported {
		return nil, fmt.Errorf("sandbox: %s is not supported: the harness needs Unix resource limits and process groups", runtime.GOOS)
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("sandbox: config field Timeout: %v is negative", cfg.Timeout)
	case cfg.CPUTime < 0:
		return nil, fmt.Errorf("sandbox: config field CPUTime: %v is negative", cfg.CPUTime)
	case cfg.MemoryBytes < 0:
		return nil, fmt.Errorf("sandbox: config field MemoryBytes: %d is negative", cfg.MemoryBytes)
	case cfg.FileBytes < 0:
		return nil, fmt.Errorf("sandbox: config field FileBytes: %d is negative", cfg.FileBytes)
	case cfg.OutputBytes < 0:
		return nil, fmt.Errorf("sandbox: config field OutputBytes: %d is negative", cfg.OutputBytes)
	case cfg.MaxParallel < 0:
		return nil, fmt.Errorf("sandbox: config field MaxParallel: %d is negative", cfg.MaxParallel)
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CPUTime == 0 {
		cfg.CPUTime = min(DefaultCPUTime, cfg.Timeout)
	}
	if cfg.MemoryBytes == 0 {
		cfg.MemoryBytes = DefaultMemoryBytes
	}
	if cfg.FileBytes == 0 {
		cfg.FileBytes = DefaultFileBytes
	}
	if cfg.OutputBytes == 0 {
		cfg.OutputBytes = DefaultOutputBytes
	}
	if cfg.MaxParallel == 0 {
		cfg.MaxParallel = runtime.NumCPU()
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.TempRoot == "" {
		cfg.TempRoot = os.TempDir()
	}
	if info, err := os.Stat(cfg.TempRoot); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("sandbox: config field TempRoot: %s is not a directory", cfg.TempRoot)
	}
	python, err := resolvePython(ctx, cfg.Python)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, python: python, sem: make(chan struct{}, cfg.MaxParallel)}
	if cfg.CacheSize > 0 {
		r.memo = newMemo(cfg.CacheSize)
	}
	r.isolation = probeIsolation(ctx, python, cfg.NoNamespaces)
	return r, nil
}

// resolvePython finds the interpreter and asks it for its own executable,
// so that launchers (pyenv shims, which cost a quarter of a second a call)
// are paid for once.
func resolvePython(ctx context.Context, name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w: %q is not on PATH or not executable (install Python 3 to score code tasks): %v", ErrNoPython, name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-c", "import sys; assert sys.version_info >= (3, 8), sys.version; print(sys.executable)").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("sandbox: %w: %s does not run as Python 3.8 or newer: %v", ErrNoPython, path, err)
	}
	exe := strings.TrimSpace(string(out))
	if exe == "" {
		return path, nil
	}
	if _, err := exec.LookPath(exe); err != nil {
		return path, nil
	}
	return exe, nil
}

// Python is the interpreter the runner starts.
func (r *Runner) Python() string { return r.python }

// Isolation reports which kernel isolation the runner's checks get.
func (r *Runner) Isolation() Isolation { return r.isolation }

// Config returns the runner's configuration with defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// Stats returns the runner's counters.
func (r *Runner) Stats() Stats {
	return Stats{Checks: r.checks.Load(), Runs: r.runs.Load(), CacheHits: r.hits.Load()}
}

// Check runs p and reports how it ended. A candidate that fails, loops,
// crashes or exhausts a limit is a Result, not an error; Check fails only
// when the check could not be made (ctx ended, the program is too large,
// the interpreter or a temporary directory could not be started).
func (r *Runner) Check(ctx context.Context, p Program) (Result, error) {
	if n := len(p.Setup) + len(p.Code) + len(p.Test); n > MaxProgramBytes {
		return Result{}, fmt.Errorf("sandbox: program of %d bytes exceeds the %d-byte limit", n, MaxProgramBytes)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if r.memo == nil {
		res, err := r.run(ctx, p)
		if err == nil {
			r.checks.Add(1)
		}
		return res, err
	}
	key := r.key(p)
	res, hit, err := r.memo.do(ctx, key, func() (Result, error) { return r.run(ctx, p) })
	if err != nil {
		return Result{}, err
	}
	r.checks.Add(1)
	if hit {
		r.hits.Add(1)
		res.Cached = true
	}
	return res, nil
}

// key hashes the program and every limit that can change its outcome.
func (r *Runner) key(p Program) [32]byte {
	h := sha256.New()
	for _, s := range []string{p.Code, p.Setup, p.Test} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	fmt.Fprintf(h, "%d/%d/%d/%d/%d", r.cfg.Timeout, r.cfg.CPUTime, r.cfg.MemoryBytes, r.cfg.FileBytes, r.cfg.OutputBytes)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// encodeRequest writes what the harness reads on stdin: a header line of
// nonce, limits, whether to install the audit hook and the byte lengths of the three sources, then the sources.
func encodeRequest(nonce string, cfg Config, noHook bool, p Program) []byte {
	cpu := max(1, int64((cfg.CPUTime+time.Second-1)/time.Second))
	var b bytes.Buffer
	hook := 1
	if noHook {
		hook = 0
	}
	fmt.Fprintf(&b, "%s %d %d %d %d %d %d %d %d\n", nonce, cfg.MemoryBytes, cpu, cfg.FileBytes, 64, hook, len(p.Setup), len(p.Code), len(p.Test))
	b.WriteString(p.Setup)
	b.WriteString(p.Code)
	b.WriteString(p.Test)
	return b.Bytes()
}

// parseVerdict reads the harness's verdict line for nonce.
func parseVerdict(raw []byte, nonce string) (Status, string, bool) {
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	parts := strings.SplitN(string(line), "\t", 3)
	if len(parts) != 3 || parts[0] != nonce {
		return "", "", false
	}
	switch st := Status(parts[1]); st {
	case StatusPass, StatusFail, StatusError, StatusMemory:
		return st, strings.ToValidUTF8(parts[2], "\uFFFD"), true
	}
	return "", "", false
}

// run starts one interpreter for p.
func (r *Runner) run(ctx context.Context, p Program) (Result, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-r.sem }()
	r.runs.Add(1)

	dir, err := os.MkdirTemp(r.cfg.TempRoot, "masrouter-sandbox-")
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: %w", err)
	}
	defer os.RemoveAll(dir)

	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return Result{}, fmt.Errorf("sandbox: nonce: %w", err)
	}
	id := hex.EncodeToString(nonce[:])
	input := encodeRequest(id, r.cfg, r.noHook, p)

	vr, vw, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: %w", err)
	}
	defer vr.Close()
	args := []string{"-S", "-s", "-B", "-c", harness}
	if r.cfg.Tag != "" {
		args = append(args, r.cfg.Tag)
	}
	cmd := exec.Command(r.python, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8", "PYTHONHASHSEED=0", "PYTHONIOENCODING=utf-8"}
	cmd.Stdin = bytes.NewReader(input)
	stdout := &capped{max: r.cfg.OutputBytes}
	stderr := &capped{max: r.cfg.OutputBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{vw}
	cmd.SysProcAttr = r.isolation.sysProcAttr()
	cmd.WaitDelay = 500 * time.Millisecond

	start := time.Now()
	if err := cmd.Start(); err != nil {
		vw.Close()
		return Result{}, fmt.Errorf("sandbox: start %s: %w", r.python, err)
	}
	vw.Close()
	// Read the verdict concurrently: a program that floods the pipe must
	// not block on it.
	verdictCh := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(vr, 1<<20))
		verdictCh <- b
	}()

	timer := time.NewTimer(r.cfg.Timeout)
	defer timer.Stop()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var timedOut, cancelled bool
	var waitErr error
	select {
	case waitErr = <-waited:
	case <-timer.C:
		timedOut = true
		killGroup(cmd)
		waitErr = <-waited
	case <-ctx.Done():
		cancelled = true
		killGroup(cmd)
		waitErr = <-waited
	}
	// Whatever the child left behind in its group goes too.
	killGroup(cmd)
	dur := time.Since(start)
	// The harness flushes its verdict before it exits, so it is in the pipe
	// now; a straggler that escaped the kill and holds the pipe open must
	// not keep the check waiting for end of file.
	_ = vr.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	raw := <-verdictCh
	if cancelled {
		return Result{}, ctx.Err()
	}

	res := Result{Duration: dur, Stdout: stdout.String(), Stderr: stderr.String(), Truncated: stdout.cut || stderr.cut}
	st, failure, ok := parseVerdict(raw, id)
	switch {
	case timedOut:
		res.Status = StatusTimeout
		res.Failure = fmt.Sprintf("timed out after %v", r.cfg.Timeout)
	case ok:
		res.Status, res.Failure = st, failure
	default:
		res.Status = StatusCrashed
		res.Failure = crashReason(cmd, waitErr, stderr.String())
		if strings.Contains(res.Failure, "CPU time limit") {
			res.Status = StatusTimeout
		} else if strings.Contains(res.Stderr, "MemoryError") {
			res.Status = StatusMemory
		}
	}
	return res, nil
}

// crashReason describes an interpreter that ended without a verdict.
func crashReason(cmd *exec.Cmd, waitErr error, stderr string) string {
	if sig, ok := signalOf(cmd); ok {
		if sig == "CPU time limit exceeded" {
			return "killed: CPU time limit exceeded"
		}
		return "killed by signal: " + sig
	}
	msg := "ended without a verdict"
	if waitErr != nil {
		msg += " (" + waitErr.Error() + ")"
	} else {
		msg += " (exit status 0: the program exited early, e.g. with os._exit)"
	}
	if line := lastLine(stderr); line != "" {
		msg += ": " + line
	}
	return msg
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	max int
	buf bytes.Buffer
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
			c.cut = true
		} else {
			c.buf.Write(p)
		}
	} else if len(p) > 0 {
		c.cut = true
	}
	return len(p), nil
}

func (c *capped) String() string { return strings.ToValidUTF8(c.buf.String(), "\uFFFD") }

// --- memo ----------------------------------------------------------------------

// memo is a bounded LRU of results that also folds identical checks running
// at the same time into one run.
type memo struct {
	mu       sync.Mutex
	max      int
	entries  map[[32]byte]*memoEntry
	head     *memoEntry // most recently used
	tail     *memoEntry
	inflight map[[32]byte]*flight
}

type memoEntry struct {
	key        [32]byte
	res        Result
	prev, next *memoEntry
}

type flight struct {
	done chan struct{}
	res  Result
	err  error
}

func newMemo(max int) *memo {
	return &memo{max: max, entries: make(map[[32]byte]*memoEntry), inflight: make(map[[32]byte]*flight)}
}

// do returns the memoised result for key, or waits for an identical run in
// flight, or calls run. Errors are not memoised.
func (m *memo) do(ctx context.Context, key [32]byte, run func() (Result, error)) (Result, bool, error) {
	m.mu.Lock()
	if e, ok := m.entries[key]; ok {
		m.touch(e)
		res := e.res
		m.mu.Unlock()
		return res, true, nil
	}
	if f, ok := m.inflight[key]; ok {
		m.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Result{}, false, ctx.Err()
		}
		if f.err != nil {
			// The first caller's run failed (perhaps its own context
			// ended); try again for this caller.
			return m.do(ctx, key, run)
		}
		return f.res, true, nil
	}
	f := &flight{done: make(chan struct{})}
	m.inflight[key] = f
	m.mu.Unlock()

	f.res, f.err = run()

	m.mu.Lock()
	delete(m.inflight, key)
	if f.err == nil {
		m.add(key, f.res)
	}
	m.mu.Unlock()
	close(f.done)
	return f.res, false, f.err
}

func (m *memo) add(key [32]byte, res Result) {
	e := &memoEntry{key: key, res: res}
	m.entries[key] = e
	m.pushFront(e)
	for len(m.entries) > m.max {
		old := m.tail
		m.unlink(old)
		delete(m.entries, old.key)
	}
}

func (m *memo) touch(e *memoEntry) {
	if m.head == e {
		return
	}
	m.unlink(e)
	m.pushFront(e)
}

func (m *memo) pushFront(e *memoEntry) {
	e.prev, e.next = nil, m.head
	if m.head != nil {
		m.head.prev = e
	}
	m.head = e
	if m.tail == nil {
		m.tail = e
	}
}

func (m *memo) unlink(e *memoEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		m.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		m.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (m *memo) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
