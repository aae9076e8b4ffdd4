"""A warm interpreter for the docs' ``python`` commands (a test speed-up
only: every documented command otherwise pays ~5 s of imports on 2 cores).

``serve`` imports the third-party libraries that every mmprelu tool imports
anyway (torch, mmengine, mmcv, mmpretrain; not mmprelu: it is imported
fresh by each command, as it would be), then forks one child per request.
The child becomes the requested ``python SCRIPT|-c CODE|-m MODULE ARGS``:
the caller's stdin/stdout/stderr, working directory, environment and
``sys.path`` (PYTHONPATH) are installed, then the code runs as
``__main__``. The ``python`` shim (tests/docs_sandbox.py) sends requests
and returns the exit code; it runs the interpreter itself when no server
answers or the command line has other options. Forking is safe only while
the server has run no OpenMP region (GNU OpenMP is not fork-safe): the
server computes nothing and checks a forked child can, else it does not
serve. ``MMPRELU_DOCS_TEST_FORK=0`` turns the whole thing off.
"""
import json
import os
import socket
import sys

#: The server's exit status when it will not serve (commands then run in
#: fresh interpreters).
REFUSED = 3
PRELOAD = ('numpy', 'cv2', 'torch', 'mmengine.runner', 'mmcv.cnn',
           'mmcv.transforms', 'mmpretrain.models', 'mmpretrain.datasets',
           'mmpretrain.engine', 'mmpretrain.evaluation', 'mmpretrain.apis')


def _recv_exact(conn, size: int) -> bytes:
    data = b''
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _monitor(conn, base_path: list, own_entries: set) -> None:
    """Receive a request, fork the command (in its own process group), wait
    for it and send its exit status, however it ends (``os._exit``, a
    signal); kill its group when the caller dies. Never returns."""
    import signal
    import threading
    size = int.from_bytes(_recv_exact(conn, 8), 'big')
    msg, fds, _, _ = socket.recv_fds(conn, size, 3)
    while len(msg) < size:
        msg += _recv_exact(conn, size - len(msg))
    request = json.loads(msg)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        conn.close()
        try:
            _command(request, base_path, own_entries)
        finally:
            os._exit(1)
    try:
        os.setpgid(pid, pid)
    except OSError:  # the child did it first
        pass

    def watch():  # the caller died (a timeout): take the command with it
        try:
            conn.recv(1)
        finally:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:  # ended and reaped meanwhile
                pass

    threading.Thread(target=watch, daemon=True).start()
    status = os.waitpid(pid, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    code = 128 - code if code < 0 else code  # a signal, as shells say it
    if request['env'].get('MMPRELU_DOCS_TEST_CPU'):  # for the test's report
        times = os.times()
        with open(request['env']['MMPRELU_DOCS_TEST_CPU'], 'a') as log:
            log.write(f'{sum(times[:4])}\n')
    conn.sendall(code.to_bytes(4, 'big', signed=True))
    try:
        os.killpg(pid, signal.SIGKILL)  # leftover workers of the command
    except ProcessLookupError:
        pass
    os._exit(0)


def _command(request: dict, base_path: list, own_entries: set) -> None:
    """Become ``python ARGV`` of the request; never returns."""
    import atexit
    import random
    import runpy
    import traceback
    import types

    import numpy as np
    import torch
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    threads = os.environ.get('OMP_NUM_THREADS')
    if threads and threads.isdigit():
        torch.set_num_threads(int(threads))
    random.seed()
    np.random.seed()
    python_path = [
        os.path.abspath(p)
        for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p
    ]
    argv, code = request['argv'], 0
    if argv[0] == '-u':  # unbuffered (torchrun starts its workers so)
        argv = argv[1:]
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(line_buffering=True, write_through=True)
    # what the command starts as `sys.executable` (torchrun's workers)
    # comes here too, through the shim
    sys.executable = request['shim']
    first = (
        os.getcwd() if argv[0] == '-m' else
        '' if argv[0] == '-c' else os.path.dirname(os.path.abspath(argv[0])))
    sys.path[:] = [first] + python_path + [
        p for p in base_path if p not in own_entries
    ]
    try:
        if argv[0] == '-c':
            sys.argv = ['-c'] + argv[2:]
            main = types.ModuleType('__main__')
            sys.modules['__main__'] = main
            exec(compile(argv[1], '<string>', 'exec'), main.__dict__)
        elif argv[0] == '-m':
            sys.argv = [argv[1]] + argv[2:]
            runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
        else:
            sys.argv = list(argv)
            runpy.run_path(argv[0], run_name='__main__')
    except SystemExit as done:
        code = done.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        code = code or 0
    except BaseException:
        traceback.print_exc()
        code = 1
    # what interpreter exit does: the command's atexit functions
    # (multiprocessing's worker clean-up, logging.shutdown); private but
    # present in every CPython
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def _openmp_survives_fork() -> bool:
    pid = os.fork()
    if pid == 0:
        import torch
        torch.set_num_threads(2)
        a = torch.ones(256, 256)
        (a @ a).sum()
        os._exit(0)
    import time
    for _ in range(200):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status == 0
        time.sleep(0.1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return False


def serve(path: str) -> None:
    import importlib
    own = {p
           for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
           if p} | {sys.path[0]}
    # as at start-up: an import may add to it (a temporary folder on
    # the oldest stack)
    base_path = list(sys.path)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    if not _openmp_survives_fork():
        print(
            'docs_zygote: a forked child cannot compute: not serving',
            file=sys.stderr)
        sys.exit(REFUSED)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + '.tmp')
    os.rename(path + '.tmp', path)  # clients see it only when ready
    server.listen(8)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            try:
                _monitor(conn, base_path, own)
            finally:
                os._exit(1)
        conn.close()
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


SHIM = '''#!{python} -SE
# `python` of the docs test: runs in the warm interpreter of
# tests/docs_zygote.py when it serves, else execs {python}
import json, os, socket, sys
args, real = sys.argv[1:], {python!r}
path = os.environ.get('MMPRELU_DOCS_TEST_ZYGOTE', '')
rest = args[1:] if args[:1] == ['-u'] else args
if not path or not rest or (rest[0].startswith('-') and
                            rest[0] not in ('-c', '-m')) or (
        rest[0] in ('-c', '-m') and len(rest) < 2):
    os.execv(real, [real] + args)
sock = socket.socket(socket.AF_UNIX)
try:
    sock.connect(path)
except OSError:
    os.execv(real, [real] + args)
msg = json.dumps(dict(argv=args, cwd=os.getcwd(), env=dict(os.environ),
                      shim=os.path.abspath(sys.argv[0]))).encode()
sock.sendall(len(msg).to_bytes(8, 'big'))
socket.send_fds(sock, [msg], [0, 1, 2])
data = b''
while len(data) < 4:
    chunk = sock.recv(4 - len(data))
    if not chunk:
        sys.exit('docs test: the forked interpreter died')
    data += chunk
sys.exit(int.from_bytes(data, 'big', signed=True))
'''

if __name__ == '__main__':
    serve(sys.argv[1])
