# A warm `openstack` for the tests: imports Debian's openstackclient once, then runs each call's
# `openstackclient.shell.main(argv)` -- what /usr/bin/openstack runs -- in a process forked from it,
# with the caller's environment, working directory, argv and stdin closed. Each call costs a fork
# instead of the ~1 s of CPU the CLI spends importing itself; everything after the imports (option
# parsing, clouds.yaml, Keystone, the HTTP calls, the formatters) is the installed CLI's own, but for
# one cache of what is installed, filled once (warm_caches).
#
#   python3 warm_openstack.py SOCKET
#
# Protocol, one call per connection: the client sends one JSON line {"argv", "env", "cwd"}; the
# server answers a line with the call's PID (so a caller's timeout can end it), then one JSON line
# {"code", "stdout", "stderr"} (base64) when it exits. The server ends when its stdin closes (the
# test process that started it has gone).
import base64
import json
import os
import selectors
import signal
import socket
import sys
import tempfile

LEARN = [
    ['network', 'list'],
    ['port', 'show', 'x'],
    ['token', 'issue'],
    ['server', 'list'],
]
UNREACHABLE = [
    '--os-auth-url', 'http://127.0.0.1:9/v3', '--os-username', 'u', '--os-password', 'p',
    '--os-project-name', 'p', '--os-user-domain-name', 'Default', '--os-project-domain-name', 'Default',
]


def run_call(conn, request, stdin_fd):
    """In the forked child: become the call, send its result, never return."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        conn.sendall(f'{os.getpid()}\n'.encode())
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        out = tempfile.TemporaryFile()
        err = tempfile.TemporaryFile()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        os.close(stdin_fd)
        sys.argv = ['openstack', *request['argv']]
        # The one module that reads the caller's place at import: clouds.yaml's search path (the
        # working directory, HOME, XDG_CONFIG_HOME). Run again here, in the call's own process.
        import importlib
        import openstack.config.loader
        importlib.reload(openstack.config.loader)
        from openstackclient.shell import main
        try:
            code = main(request['argv'])
        except SystemExit as e:
            code = e.code
        except BaseException:  # the CLI's own top-level handler let it through: report like Python would
            import traceback
            traceback.print_exc()
            code = 1
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        out.seek(0)
        err.seek(0)
        reply = {
            'code': code,
            'stdout': base64.b64encode(out.read()).decode(),
            'stderr': base64.b64encode(err.read()).decode(),
        }
        conn.sendall((json.dumps(reply) + '\n').encode())
    finally:
        os._exit(0)


def learn_imports():
    """Runs a few calls that fail fast in a child and imports here every module they needed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        from openstackclient.shell import main
        for argv in LEARN:
            try:
                main([*UNREACHABLE, *argv])
            except BaseException:
                pass
        os.write(w, '\n'.join(sorted(sys.modules)).encode())
        os._exit(0)
    os.close(w)
    names = b''
    while chunk := os.read(r, 65536):
        names += chunk
    os.close(r)
    os.waitpid(pid, 0)
    for name in names.decode().split('\n'):
        if name and name not in sys.modules and not name.startswith('__'):
            try:
                __import__(name)
            except BaseException:
                pass


def warm_caches():
    """Fills, once, a cache the CLI builds from what is installed on its first use: cliff's map of
    modules to the distributions providing them, which every command's parser asks for (its help
    epilog). Built in each call, reading the metadata of every installed package, it is about two
    thirds of a warm call's CPU; the map is the same in every call, as the installation is."""
    try:
        import cliff.command
        cliff.command._get_distributions_by_modules()
    except Exception:  # another cliff: its calls fill their own caches, as the cold CLI's do
        pass


def remove_socket(path):
    """The socket and the directory made for it: a test process ended by a signal leaves them."""
    try:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def serve(path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)  # bound before the imports: early calls wait in the backlog
    # cliff names the program after argv[0] when its classes are defined (`openstack --version`).
    sys.argv = ['/usr/bin/openstack']
    import openstackclient.shell  # noqa: F401
    learn_imports()
    warm_caches()
    # Children are reaped by the kernel; each call's result travels over its own connection.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    stdin_fd = sys.stdin.fileno()
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    sel.register(stdin_fd, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj == stdin_fd:
                if not os.read(stdin_fd, 4096):
                    remove_socket(path)
                    return
                continue
            conn, _ = server.accept()
            with conn.makefile('rb') as f:
                line = f.readline()
            try:
                request = json.loads(line)
            except ValueError:
                conn.close()
                continue
            if os.fork() == 0:
                server.close()
                run_call(conn, request, stdin_fd)
            conn.close()


if __name__ == '__main__':
    serve(sys.argv[1])
