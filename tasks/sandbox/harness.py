# harness.py runs one candidate Python program against its tests for
# masrouter's sandbox (tasks/sandbox). It is embedded in the Go binary and
# passed to the interpreter with -c; it is not a module.
#
# Protocol: the request arrives on stdin as one header line
#   nonce memory cpu fsize nofile hook len(setup) len(code) len(test)
# (hook is 1 to install the audit hook, 0 only in the sandbox's own tests of
# the layers beneath it; lengths are in UTF-8 bytes) followed by the three sources, and the verdict
# leaves on file descriptor 3 as one tab-separated line
#   nonce status failure
# where status is pass, fail (an assertion of the tests failed), error (an
# exception or a syntax error), or memory (MemoryError). A run that writes no
# verdict (killed, os._exit, a crash) is judged by the Go side.
#
# Before the candidate runs, the harness
#   1. applies resource limits with setrlimit: address space, CPU seconds,
#      processes (0 new ones), file size, open files, and no core dumps;
#   2. installs an audit hook (sys.addaudithook) that refuses writes outside
#      the working directory (a fresh temporary directory), process creation
#      and signalling, sockets and other network clients, ctypes, and raising
#      the resource limits.
# An audit hook is not a security boundary: code that reaches native code
# another way (a compiled extension module on the path, a bug in the
# interpreter) can bypass it. The limits set with setrlimit, the process
# group kill and the namespaces the Go side adds do not depend on it.
# Only modules the interpreter has already loaded, or cheap C modules, are
# imported: json and ast would double the start-up time, and every check
# pays it.
import _ast
import os
import resource
import sys


def read_request():
    data = sys.stdin.buffer.read()
    head, _, body = data.partition(b"\n")
    f = head.split()
    req = {"nonce": f[0].decode(), "memory": int(f[1]), "cpu": int(f[2]), "fsize": int(f[3]), "nofile": int(f[4]), "hook": f[5] == b"1"}
    at = 0
    for name, n in zip(("setup", "code", "test"), f[6:9]):
        n = int(n)
        req[name] = body[at:at + n].decode("utf-8")
        at += n
    return req


def main():
    req = read_request()
    verdict = os.fdopen(3, "w", encoding="utf-8", errors="backslashreplace")
    sys.stdin = open(os.devnull)
    limits = (
        (resource.RLIMIT_AS, req["memory"], req["memory"]),
        (resource.RLIMIT_CPU, req["cpu"], req["cpu"] + 1),
        (resource.RLIMIT_FSIZE, req["fsize"], req["fsize"]),
        (resource.RLIMIT_NOFILE, req["nofile"], req["nofile"]),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, 0, 0),
    )
    for res, soft, hard in limits:
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):
            pass  # a limit the platform refuses; the others still apply
    if req["hook"]:
        install_hook(os.path.realpath(os.getcwd()))
    status, failure = run(req)
    verdict.write("%s\t%s\t%s\n" % (req["nonce"], status, failure))
    verdict.flush()
    os._exit(0)  # skip interpreter teardown: the candidate's atexit handlers and finalisers


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

# Events refused outright.
REFUSED = frozenset((
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "os.startfile", "subprocess.Popen", "pty.spawn",
    "resource.setrlimit", "resource.prlimit", "sys.addaudithook",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata",
    "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect",
    "poplib.connect", "imaplib.open", "nntplib.connect", "telnetlib.Telnet.open",
    "webbrowser.open", "syslog.openlog",
))

# Events whose path arguments must lie inside the working directory.
PATH_EVENTS = frozenset((
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
    "os.link", "os.truncate", "os.utime", "os.chflags", "os.lchflags",
    "os.setxattr", "os.removexattr", "os.mkfifo", "os.mknod", "os.chdir",
    "shutil.rmtree", "shutil.move", "shutil.copyfile", "shutil.copymode",
    "shutil.copystat", "shutil.copytree", "shutil.chown",
))

REFUSED_MODULES = frozenset(("ctypes", "_ctypes", "cffi"))


def install_hook(root):
    busy = [False]

    def inside(p):
        try:
            p = os.fsdecode(p)
        except TypeError:
            return True  # not a path: a file descriptor or a mode
        full = os.path.realpath(os.path.join(root, p))
        return full == root or full.startswith(root + os.sep)

    def is_path(a):
        return isinstance(a, (str, bytes, os.PathLike))

    def hook(event, args):
        if busy[0]:
            return
        if event in REFUSED or event.startswith("socket."):
            raise PermissionError("sandbox: %s is not allowed" % event)
        if event == "import":
            if args[0].partition(".")[0] in REFUSED_MODULES:
                raise ImportError("sandbox: importing %s is not allowed" % args[0])
            return
        if event == "open":
            path, mode, flags = args
            if not is_path(path):
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if not writing:
                return
            paths = (path,)
        elif event in PATH_EVENTS:
            paths = [a for a in args if is_path(a)]
        elif event == "os.symlink":
            paths = [a for a in args[1:2] if is_path(a)]  # the link, not its target
        else:
            return
        busy[0] = True
        try:
            for p in paths:
                if not inside(p):
                    raise PermissionError("sandbox: %s of %r outside the temporary directory is not allowed" % (event, os.fsdecode(p)))
        finally:
            busy[0] = False

    sys.addaudithook(hook)


def run(req):
    g = {"__name__": "__candidate__", "__builtins__": __builtins__}
    sources = {"<candidate>": req["code"], "<setup>": req["setup"], "<test>": req["test"]}
    for name in ("<candidate>", "<setup>", "<test>"):
        src = sources[name]
        if not src.strip():
            continue
        try:
            exec(compile(src, name, "exec"), g)
        except MemoryError:
            return "memory", "MemoryError: the program exceeded the memory limit"
        except SyntaxError as e:
            where = e.filename or name
            return "error", trim("SyntaxError: %s (%s line %s)" % (e.msg, where.strip("<>"), e.lineno))
        except BaseException as e:
            return describe(e, name, sources)
    return "pass", ""


def describe(e, stage, sources):
    """The first failing assertion, or the exception, as one short line."""
    exc = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    if isinstance(e, SystemExit):
        exc = "SystemExit(%r) raised" % (e.code,)
    status = "fail" if isinstance(e, AssertionError) else "error"
    tb, test_frame, test_line, cand_line = e.__traceback__, None, None, None
    while tb is not None:
        fname = tb.tb_frame.f_code.co_filename
        if fname == "<test>":
            test_frame, test_line = tb.tb_frame, tb.tb_lineno
        elif fname == "<candidate>":
            cand_line = tb.tb_lineno
        tb = tb.tb_next
    if stage != "<test>" or test_line is None:
        where = " (%s line %s)" % (stage.strip("<>"), cand_line) if stage == "<candidate>" and cand_line else ""
        if stage == "<test>" and cand_line:
            where = " (candidate line %s)" % cand_line
        return status, trim(exc + where)
    stmt = statement(sources["<test>"], test_line)
    if isinstance(e, AssertionError):
        msg = stmt
        if str(e):
            msg += " (message: %s)" % e
        got = actual(stmt, test_frame)
        if got is not None:
            msg += " (got %s)" % got
        return "fail", trim(msg)
    return "error", trim("%s: %s" % (stmt, exc) + (" (candidate line %s)" % cand_line if cand_line else ""))


def parse(src, mode="exec"):
    """The syntax tree of src, built with the compiler's own _ast nodes
    (importing the ast module would cost more than the rest of a check)."""
    return compile(src, "<test>", mode, 0x400)  # ast.PyCF_ONLY_AST


def walk(node):
    """Every node under node, node included, like ast.walk."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for field in n._fields:
            v = getattr(n, field, None)
            if isinstance(v, list):
                todo.extend(x for x in v if isinstance(x, _ast.AST))
            elif isinstance(v, _ast.AST):
                todo.append(v)


def segment(src, node):
    """The source text of node, like ast.get_source_segment."""
    lines = src.encode("utf-8").splitlines(True)
    first, last = node.lineno - 1, node.end_lineno - 1
    if last >= len(lines):
        return None
    if first == last:
        return lines[first][node.col_offset:node.end_col_offset].decode("utf-8", "replace")
    parts = [lines[first][node.col_offset:]] + lines[first + 1:last] + [lines[last][:node.end_col_offset]]
    return b"".join(parts).decode("utf-8", "replace")


def statement(src, line):
    """The source of the innermost simple statement of src spanning line."""
    lines = src.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else "line %d" % line
    try:
        best = None
        for node in walk(parse(src)):
            if isinstance(node, _ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno):
                if best is None or node.lineno >= best.lineno:
                    best = node
        compound = (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef, _ast.For, _ast.While, _ast.If, _ast.With, _ast.Try)
        if best is not None and not isinstance(best, compound):
            seg = segment(src, best)
            if seg:
                text = seg
    except (SyntaxError, ValueError, TypeError):
        pass
    return " ".join(text.split())


def actual(stmt, frame):
    """What the left side of a failing `assert x == y` evaluated to, if cheap to say."""
    try:
        node = parse(stmt).body[0]
        if not (isinstance(node, _ast.Assert) and isinstance(node.test, _ast.Compare)
                and len(node.test.ops) == 1 and isinstance(node.test.ops[0], (_ast.Eq, _ast.Is))):
            return None
        expr = _ast.Expression(body=node.test.left)
        value = eval(compile(expr, "<test>", "eval"), frame.f_globals, frame.f_locals)
        return trim(repr(value), 120)
    except BaseException:
        return None


def trim(s, n=300):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 3] + "..."


main()
