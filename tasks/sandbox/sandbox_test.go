package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newRunner returns a runner whose temporary directories go under a
// per-test folder, tagged so its processes can be found. It skips the test
// when python3 is missing.
func newRunner(t testing.TB, cfg Config) (*Runner, string) {
	t.Helper()
	if cfg.TempRoot == "" {
		cfg.TempRoot = t.TempDir()
	}
	if cfg.Tag == "" {
		cfg.Tag = fmt.Sprintf("masrouter-sandbox-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	}
	r, err := New(context.Background(), cfg)
	if errors.Is(err, ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
	require.NoError(t, err)
	return r, cfg.TempRoot
}

// assertNothingLeft checks that no temporary directory and no process of
// the runner outlives its checks.
func assertNothingLeft(t *testing.T, r *Runner, root string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Empty(t, entries, "temporary directories left behind in %s", root)
	if runtime.GOOS != "linux" {
		return
	}
	// Processes take a moment to be reaped after SIGKILL.
	var stray []string
	for range 50 {
		if stray = processesWith(t, r.cfg.Tag); len(stray) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.Empty(t, stray, "processes left running")
}

// processesWith lists the pids whose command line contains tag.
func processesWith(t *testing.T, tag string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var out []string
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the process ended meanwhile
		}
		if strings.Contains(string(b), tag) {
			out = append(out, strings.Split(f, "/")[2])
		}
	}
	return out
}

func TestMissingPython(t *testing.T) {
	for _, name := range []string{"/nonexistent/python3", "python3-that-does-not-exist", "/bin/false"} {
		t.Run(name, func(t *testing.T) {
			r, err := New(context.Background(), Config{Python: name})
			require.Error(t, err)
			assert.Nil(t, r)
			assert.ErrorIs(t, err, ErrNoPython)
			assert.Contains(t, err.Error(), name)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Timeout: -1}, "Timeout"},
		{Config{MemoryBytes: -1}, "MemoryBytes"},
		{Config{FileBytes: -1}, "FileBytes"},
		{Config{OutputBytes: -1}, "OutputBytes"},
		{Config{MaxParallel: -1}, "MaxParallel"},
		{Config{TempRoot: "/nonexistent/dir"}, "TempRoot"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := New(context.Background(), tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestVerdicts checks that each way a candidate can end is reported with
// the first failing assertion or the exception.
func TestVerdicts(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: -1})
	const inc = "def f(x):\n    return x + 1\n"
	humanEvalTest := "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(1) == 2\n    assert candidate(\n        3\n    ) == 5\n\ncheck(f)\n"
	tests := []struct {
		name    string
		p       Program
		status  Status
		failure string
	}{
		{"pass", Program{Code: inc, Test: "assert f(1) == 2\nassert f(-1) == 0\n"}, StatusPass, ""},
		{"first failing assert, with its value", Program{Code: inc, Test: "assert f(1) == 2\nassert f(2) == 4\nassert f(3) == 9\n"}, StatusFail, "assert f(2) == 4 (got 3)"},
		{"multi-line assert inside check", Program{Code: "def f(x):\n    return x + 1 if x < 2 else x\n", Test: humanEvalTest}, StatusFail, "assert candidate( 3 ) == 5 (got 3)"},
		{"assert with a message", Program{Code: inc, Test: "assert f(1) == 3, 'off by one'\n"}, StatusFail, "assert f(1) == 3, 'off by one' (message: off by one) (got 2)"},
		{"not an equality", Program{Code: inc, Test: "assert f(1) > 5\n"}, StatusFail, "assert f(1) > 5"},
		{"exception in the candidate during a test", Program{Code: "def f(x):\n    return 1 // x\n", Test: "assert f(1) == 1\nassert f(0) == 0\n"}, StatusError, "assert f(0) == 0: ZeroDivisionError: integer division or modulo by zero (candidate line 2)"},
		{"missing function", Program{Code: "def g(x):\n    return x\n", Test: "assert f(1) == 2\n"}, StatusError, "assert f(1) == 2: NameError: name 'f' is not defined"},
		{"syntax error", Program{Code: "def f(x)\n    return x\n", Test: "assert f(1) == 1\n"}, StatusError, "SyntaxError: expected ':' (candidate line 1)"},
		{"exception at import", Program{Code: "import numpy_that_is_not_there\n", Test: ""}, StatusError, "ModuleNotFoundError: No module named 'numpy_that_is_not_there' (candidate line 1)"},
		{"sys.exit", Program{Code: "import sys\nsys.exit(0)\n", Test: "assert False\n"}, StatusError, "SystemExit(0) raised (candidate line 2)"},
		{"os._exit skips the verdict", Program{Code: "import os\nos._exit(0)\n", Test: ""}, StatusCrashed, "ended without a verdict"},
		{"setup runs between", Program{Code: "class Box:\n    def __init__(self, v):\n        self.v = v\n\ndef f(b):\n    return b.v + 1\n", Setup: "box = Box(10)\n", Test: "assert f(box) == 11\n"}, StatusPass, ""},
		{"main guard does not run", Program{Code: inc + "if __name__ == '__main__':\n    raise SystemExit(1)\n", Test: "assert f(0) == 1\n"}, StatusPass, ""},
		{"unicode", Program{Code: "def f(s):\n    return s[::-1]\n", Test: "assert f('héllo→') == '→olléh'\nassert f('ü') == 'x'\n"}, StatusFail, "assert f('ü') == 'x' (got 'ü')"},
		{"recursion", Program{Code: "def f(x):\n    return f(x)\n", Test: "assert f(1) == 1\n"}, StatusError, "RecursionError: maximum recursion depth exceeded"},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Check(ctx, tc.p)
			require.NoError(t, err)
			assert.Equal(t, tc.status, res.Status, "failure: %s\nstderr: %s", res.Failure, res.Stderr)
			if tc.failure == "" {
				assert.Empty(t, res.Failure)
			} else {
				assert.Contains(t, res.Failure, tc.failure)
			}
			assert.Equal(t, tc.status == StatusPass, res.Passed())
		})
	}
	assertNothingLeft(t, r, root)
}

// TestContainment runs hostile and runaway programs and checks each is
// stopped, reported, and leaves no process or file behind.
func TestContainment(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: -1, Timeout: time.Second, OutputBytes: 1 << 10})
	outside := filepath.Join(t.TempDir(), "outside.txt") // not under the runner's TempRoot
	tests := []struct {
		name   string
		code   string
		status Status
		want   string // in Failure
	}{
		{"infinite loop", "while True:\n    pass\n", StatusTimeout, "timed out"},
		{"infinite loop in C", "import itertools\nfor _ in itertools.count():\n    pass\n", StatusTimeout, "timed out"},
		{"sleeping forever", "import time\ntime.sleep(3600)\n", StatusTimeout, "timed out"},
		{"fork bomb", "import os\nwhile True:\n    os.fork()\n", StatusError, "os.fork is not allowed"},
		{"fork bomb through subprocess", "import subprocess\nsubprocess.Popen(['sh', '-c', ':(){ :|:& };:'])\n", StatusError, "not allowed"},
		{"fork bomb through os.system", "import os\nos.system(':(){ :|:& };:')\n", StatusError, "os.system is not allowed"},
		{"multiprocessing", "import multiprocessing\np = multiprocessing.Process(target=print)\np.start()\np.join()\n", StatusError, "not allowed"},
		{"1 GB allocation", "x = bytearray(1 << 30)\n", StatusMemory, "memory limit"},
		{"1 GB of small objects", "x = [0] * (1 << 27)\n", StatusMemory, "memory limit"},
		{"write outside the temporary directory", fmt.Sprintf("open(%q, 'w').write('pwned')\n", outside), StatusError, "outside the temporary directory is not allowed"},
		{"write outside through os.open", fmt.Sprintf("import os\nos.open(%q, os.O_WRONLY | os.O_CREAT)\n", outside), StatusError, "outside the temporary directory is not allowed"},
		{"write outside through a symlink", fmt.Sprintf("import os\nos.symlink(%q, 'link')\nopen('link', 'w').write('pwned')\n", outside), StatusError, "outside the temporary directory is not allowed"},
		{"write outside through a relative path", "open('../escaped.txt', 'w').write('pwned')\n", StatusError, "outside the temporary directory is not allowed"},
		{"delete outside", fmt.Sprintf("import os\nos.remove(%q)\n", outside), StatusError, "os.remove"},
		{"change directory out", "import os\nos.chdir('/')\n", StatusError, "os.chdir"},
		{"ctypes", "import ctypes\n", StatusError, "importing ctypes is not allowed"},
		{"raise a limit back", "import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))\n", StatusError, "resource.setrlimit is not allowed"},
		{"network", "import socket\ns = socket.socket()\ns.connect(('93.184.216.34', 80))\n", StatusError, "socket"},
		{"network by name", "import urllib.request\nurllib.request.urlopen('http://example.com')\n", StatusError, "not allowed"},
		{"huge output", "import sys\nfor _ in range(200000):\n    sys.stdout.write('x' * 100)\n", StatusPass, ""},
		{"big file in the temporary directory", "open('big', 'wb').write(b'x' * (8 << 20))\n", StatusError, "File too large"},
		{"writes inside the temporary directory are fine", "import os\nos.mkdir('d')\nopen('d/f.txt', 'w').write('ok')\nos.rename('d/f.txt', 'd/g.txt')\nos.remove('d/g.txt')\n", StatusPass, ""},
	}
	ctx := context.Background()
	t.Run("all", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				res, err := r.Check(ctx, Program{Code: tc.code})
				require.NoError(t, err)
				assert.Equal(t, tc.status, res.Status, "failure: %s\nstderr: %s", res.Failure, res.Stderr)
				assert.Contains(t, res.Failure, tc.want)
				assert.NoFileExists(t, outside)
				assert.NoFileExists(t, filepath.Join(filepath.Dir(root), "escaped.txt"))
				if tc.name == "huge output" {
					assert.True(t, res.Truncated)
					assert.Len(t, res.Stdout, 1<<10)
				}
			})
		}
	})
	assertNothingLeft(t, r, root)
}

// TestBeneathTheHook turns the audit hook off to check the layers the
// kernel enforces: children a program forks are killed with it (process
// group, PID namespace), and the memory and CPU limits hold.
func TestBeneathTheHook(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: -1, Timeout: time.Second})
	r.noHook = true
	ctx := context.Background()
	tests := []struct {
		name   string
		code   string
		status Status
	}{
		// Five children that sleep for an hour; the parent returns at once
		// (or, where RLIMIT_NPROC applies, the first fork fails).
		{"forked children die with the check", "import os, time\nfor _ in range(5):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n    if pid == 0:\n        time.sleep(3600)\n        os._exit(0)\n", ""},
		{"forked children of a looping parent", "import os, time\nfor _ in range(5):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n    if pid == 0:\n        time.sleep(3600)\n        os._exit(0)\nwhile True:\n    pass\n", StatusTimeout},
		{"a child in its own session", "import os, time\ntry:\n    pid = os.fork()\nexcept OSError:\n    pid = -1\nif pid == 0:\n    os.setsid()\n    time.sleep(3600)\n    os._exit(0)\n", ""},
		{"memory limit", "x = bytearray(1 << 30)\n", StatusMemory},
		{"CPU limit", "while True:\n    pass\n", StatusTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Check(ctx, Program{Code: tc.code})
			require.NoError(t, err)
			if tc.status != "" {
				assert.Equal(t, tc.status, res.Status, res.Failure)
			}
			if tc.name == "a child in its own session" && !r.Isolation().PID {
				// Without a PID namespace a child that leaves the process
				// group escapes the kill; only the namespace stops it.
				if pids := processesWith(t, r.cfg.Tag); len(pids) > 0 {
					for _, pid := range pids {
						var p int
						fmt.Sscan(pid, &p)
						if proc, err := os.FindProcess(p); err == nil {
							proc.Kill()
						}
					}
					t.Skip("no PID namespace: a child in its own session outlives the check; the audit hook refuses os.fork")
				}
			}
			assertNothingLeft(t, r, root)
		})
	}
}

// TestDeleteOutsideRefusedKeepsFile checks an existing file outside the
// temporary directory survives an attempt to delete or overwrite it.
func TestDeleteOutsideRefusedKeepsFile(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: -1})
	victim := filepath.Join(t.TempDir(), "victim.txt")
	require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o644))
	for _, code := range []string{
		fmt.Sprintf("import os\nos.remove(%q)\n", victim),
		fmt.Sprintf("open(%q, 'w').write('gone')\n", victim),
		fmt.Sprintf("import shutil\nshutil.rmtree(%q)\n", filepath.Dir(victim)),
		fmt.Sprintf("import os\nos.rename(%q, 'stolen')\n", victim),
	} {
		res, err := r.Check(context.Background(), Program{Code: code})
		require.NoError(t, err)
		assert.Equal(t, StatusError, res.Status, res.Failure)
		got, err := os.ReadFile(victim)
		require.NoError(t, err, "after %q", code)
		assert.Equal(t, "precious", string(got))
	}
	assertNothingLeft(t, r, root)
}

// TestNamespaces checks the kernel isolation the runner reports: with a
// network namespace the program sees no interface but loopback, and with a
// PID namespace it is process 1.
func TestNamespaces(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: -1})
	iso := r.Isolation()
	t.Logf("isolation: %s", iso)
	if runtime.GOOS != "linux" {
		assert.False(t, iso.Network || iso.PID)
		return
	}
	ctx := context.Background()
	if iso.Network {
		res, err := r.Check(ctx, Program{Code: "ifaces = [l.split(':')[0].strip() for l in open('/proc/self/net/dev').read().splitlines()[2:]]\n", Test: "assert ifaces == ['lo']\n"})
		require.NoError(t, err)
		assert.True(t, res.Passed(), res.Failure)
	} else {
		assert.NotEmpty(t, iso.Reason)
	}
	if iso.PID {
		res, err := r.Check(ctx, Program{Code: "import os\n", Test: "assert os.getpid() == 1\n"})
		require.NoError(t, err)
		assert.True(t, res.Passed(), res.Failure)
	}
	off, _ := newRunner(t, Config{CacheSize: -1, NoNamespaces: true})
	assert.Equal(t, Isolation{Reason: "turned off by config"}, off.Isolation())
	res, err := off.Check(ctx, Program{Code: "def f():\n    return 1\n", Test: "assert f() == 1\n"})
	require.NoError(t, err)
	assert.True(t, res.Passed(), res.Failure)
	assertNothingLeft(t, r, root)
}

func TestCancel(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: -1, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Check(ctx, Program{Code: "pass"})
	assert.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = r.Check(ctx, Program{Code: "while True:\n    pass\n"})
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline is an error, not a verdict")
	assertNothingLeft(t, r, root)

	_, err = r.Check(context.Background(), Program{Code: strings.Repeat("x", MaxProgramBytes+1)})
	assert.ErrorContains(t, err, "exceeds")
}

func TestMemo(t *testing.T) {
	r, root := newRunner(t, Config{CacheSize: 2})
	ctx := context.Background()
	prog := func(i int) Program {
		return Program{Code: fmt.Sprintf("def f():\n    return %d\n", i), Test: "assert f() == 1\n"}
	}
	first, err := r.Check(ctx, prog(1))
	require.NoError(t, err)
	assert.False(t, first.Cached)
	again, err := r.Check(ctx, prog(1))
	require.NoError(t, err)
	assert.True(t, again.Cached)
	first.Cached = true
	assert.Equal(t, first, again)
	assert.Equal(t, Stats{Checks: 2, Runs: 1, CacheHits: 1}, r.Stats())

	// Concurrent identical checks run Python once.
	var wg sync.WaitGroup
	results := make([]Result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Check(ctx, prog(2))
			assert.NoError(t, err)
			results[i] = res
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(2), r.Stats().Runs)
	for _, res := range results {
		assert.Equal(t, StatusFail, res.Status)
	}

	// The memo is bounded: a third program evicts the least recently used.
	_, err = r.Check(ctx, prog(3))
	require.NoError(t, err)
	assert.Equal(t, 2, r.memo.len())
	res, err := r.Check(ctx, prog(1))
	require.NoError(t, err)
	assert.False(t, res.Cached, "program 1 was evicted")
	assert.Equal(t, int64(4), r.Stats().Runs)

	// A different limit is a different key.
	other, _ := newRunner(t, Config{CacheSize: 2, MemoryBytes: 256 << 20})
	assert.NotEqual(t, r.key(prog(1)), other.key(prog(1)))
	assertNothingLeft(t, r, root)
}

func TestParseVerdict(t *testing.T) {
	tests := []struct {
		raw     string
		status  Status
		failure string
		ok      bool
	}{
		{"abc\tpass\t\n", StatusPass, "", true},
		{"abc\tfail\tassert f(1) == 2 (got 3)\n", StatusFail, "assert f(1) == 2 (got 3)", true},
		{"abc\tfail\ta\tb", StatusFail, "a\tb", true},
		{"xyz\tpass\t\n", "", "", false},
		{"abc\ttimeout\t\n", "", "", false},
		{"abc\tpass", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		st, f, ok := parseVerdict([]byte(tc.raw), "abc")
		assert.Equal(t, tc.ok, ok, tc.raw)
		assert.Equal(t, tc.status, st, tc.raw)
		assert.Equal(t, tc.failure, f, tc.raw)
	}
}

func TestNote(t *testing.T) {
	assert.Equal(t, "all tests pass", Result{Status: StatusPass}.Note())
	assert.Equal(t, "assert f(1) == 2 (got 3)", Result{Status: StatusFail, Failure: "assert f(1) == 2 (got 3)"}.Note())
	assert.Contains(t, Result{Status: StatusTimeout, Failure: "timed out after 5s"}.Note(), "infinite loop")
	assert.Equal(t, "ran out of memory", Result{Status: StatusMemory}.Note())
	assert.Equal(t, "crashed", Result{Status: StatusCrashed}.Note())
}
