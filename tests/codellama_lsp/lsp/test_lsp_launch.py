"""What editors' launchers expect of the server process: the arguments they pass (`--stdio`,
`--socket=PORT`, `--pipe=NAME`, `--clientProcessId=N`), an end within 200 ms of `exit` (within
1 s while a model loads), an end with the client's process, and no start-up line about a model
the editor does not load."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time

import pytest

from tests.support.cli import run_cli
from tests.support.paths import ROOT
from tests.support.raw_lsp import RawServer

pytestmark = pytest.mark.server

EXIT_WITHIN_S = 0.2  # vscode-languageclient kills a server still there 2 s after exit
# While a model loads, loading torch's C extension holds the interpreter lock for one
# uninterruptible call (about 0.2 s here, more on a loaded machine); an exit waits for it.
EXIT_WHILE_LOADING_WITHIN_S = 1.0
NOT_DOWNLOADED = "Code Llama 7B is not downloaded"


def timed_exit(raw: RawServer) -> tuple[int, float]:
    """Send exit; the exit code and the seconds from sending it to the process's end."""
    gone = os.pidfd_open(raw.process.pid)  # the end seen as it happens: Popen.wait polls
    try:
        sent = time.monotonic()
        raw.notify("exit")
        select.select([gone], [], [], 30)
        seconds = time.monotonic() - sent
    finally:
        os.close(gone)
    return raw.process.wait(30), seconds


def test_stdio_is_accepted_and_the_demo_model_server_ends_within_200_ms_of_exit():
    raw = RawServer("--stdio")
    try:
        raw.initialize(options={"engine": "local", "model": "demo"})
        assert raw.wait_for_model()["state"] == "ready"
        assert raw.answer(raw.request("shutdown"))["result"] is None
        code, seconds = timed_exit(raw)
        assert code == 0 and seconds < EXIT_WITHIN_S, f"exit took {seconds:.3f}s"
    finally:
        raw.close()


@pytest.mark.parametrize("shutdown, expected", [(True, 0), (False, 1)])
def test_exit_while_the_model_loads_ends_the_process_within_1_s(shutdown, expected):
    raw = RawServer("--stdio")
    try:
        raw.initialize(options={"engine": "local", "model": "demo"})  # the load starts now
        if shutdown:
            raw.answer(raw.request("shutdown"))
        code, seconds = timed_exit(raw)
        assert code == expected and seconds < EXIT_WHILE_LOADING_WITHIN_S, \
            f"exit took {seconds:.3f}s"
    finally:
        raw.close()


def test_exit_without_shutdown_ends_with_1_within_200_ms_with_the_model_loaded():
    raw = RawServer()
    try:
        raw.initialize(options={"engine": "local", "model": "demo"})
        assert raw.wait_for_model()["state"] == "ready"
        code, seconds = timed_exit(raw)
        assert code == 1 and seconds < EXIT_WITHIN_S, f"exit took {seconds:.3f}s"
    finally:
        raw.close()


def fake_client() -> subprocess.Popen:
    """A process standing for the editor: the server is to watch it."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


def end(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(10)  # reaped: gone for every way of looking


@pytest.mark.parametrize("given", ["--clientProcessId=N", "--clientProcessId N", "initialize"])
def test_the_server_ends_when_the_client_process_does(given):
    client = fake_client()
    args = {"--clientProcessId=N": [f"--clientProcessId={client.pid}"],
            "--clientProcessId N": ["--clientProcessId", str(client.pid)],
            "initialize": []}[given]
    raw = RawServer("--stdio", *args)
    try:
        raw.initialize(process_id=client.pid if given == "initialize" else None)
        assert raw.stats_answered()
        assert raw.process.poll() is None  # the client is there: the server stays
        end(client)
        assert raw.exit_code(timeout_s=30) == 1  # no shutdown was received
        assert f"the client's process {client.pid} has ended" in raw.stderr()
    finally:
        end(client)
        raw.close()


def test_after_shutdown_the_client_process_ending_ends_the_server_with_0():
    client = fake_client()
    raw = RawServer(f"--clientProcessId={client.pid}")
    try:
        raw.initialize()
        raw.answer(raw.request("shutdown"))
        end(client)
        assert raw.exit_code(timeout_s=30) == 0
    finally:
        end(client)
        raw.close()


@pytest.mark.parametrize("pid", ["ended", 2**40, -1])
def test_an_initialize_process_id_not_seen_here_is_not_watched(pid):
    """A client in another container or on another machine: its pid means nothing here."""
    if pid == "ended":
        gone = fake_client()
        end(gone)
        pid = gone.pid
    raw = RawServer()
    try:
        assert "result" in raw.initialize(process_id=pid)
        assert raw.stats_answered() and raw.process.poll() is None
        raw.answer(raw.request("shutdown"))
        assert timed_exit(raw)[0] == 0
    finally:
        raw.close()


@pytest.mark.parametrize("args, message", [
    (["--clientProcessId", "abc"],
     "argument --clientProcessId: must be a process id (a positive integer), got 'abc'"),
    (["--clientProcessId=-3"],
     "argument --clientProcessId: must be a process id (a positive integer), got '-3'"),
    (["--clientProcessId=99999999999999999999"],
     "argument --clientProcessId: must be a process id (a positive integer)"),
    (["--clientProcessId=999999999"], "--clientProcessId 999999999: no such process"),
    (["--socket=http"], "argument --socket: must be a port from 1 to 65535, got 'http'"),
    (["--node-ipc"], "--node-ipc is Node.js's own channel, which this server cannot use"),
    (["--stdio", "--tcp", "127.0.0.1:1"], "argument --tcp: not allowed with argument --stdio"),
    (["--socket=9"], "cannot connect to the client at 127.0.0.1:9"),
])
def test_bad_launch_arguments_are_one_line_and_exit_2(args, message):
    result = run_cli("lsp", *args, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("codellama lsp: error: ") and message in result.stderr


def frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream) -> dict:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def answer(stream, msg_id: int) -> dict:
    while (message := read_frame(stream)).get("id") != msg_id or "method" in message:
        pass
    return message


def serve_a_session(listener: socket.socket, server: subprocess.Popen) -> None:
    """As vscode-languageclient: wait for the server to connect, then a whole session."""
    listener.settimeout(60)
    connection, _ = listener.accept()
    with connection, connection.makefile("rb") as stream:
        connection.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                  "params": {"capabilities": {}, "processId": None}}))
        assert "inlineCompletionProvider" in answer(stream, 1)["result"]["capabilities"]
        connection.sendall(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        assert answer(stream, 2)["result"] is None
        connection.sendall(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert server.wait(30) == 0


def start_server(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "codellama_lsp", "lsp", *args,
                             "--engine", "http://127.0.0.1:9"], cwd=ROOT,
                            env=RawServer.environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_socket_connects_to_the_client_listening_on_that_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = start_server(f"--socket={listener.getsockname()[1]}")
        try:
            serve_a_session(listener, server)
        finally:
            server.kill()
            server.wait(10)
    assert server.stdout.read() == b""  # the protocol went over the socket


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_pipe_connects_to_the_client_listening_on_that_unix_socket(tmp_path):
    path = str(tmp_path / "lsp-test.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(1)
        server = start_server(f"--pipe={path}")
        try:
            serve_a_session(listener, server)
        finally:
            server.kill()
            server.wait(10)


# -- the line about Code Llama 7B: only where `auto` is what loads ------------------------------

@pytest.fixture
def no_code_llama(tmp_path) -> dict[str, str]:
    """An empty Hugging Face cache: `auto` falls back to the demo model."""
    cache = tmp_path / "hub"
    cache.mkdir()
    return {"HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path)}


def notes_about_code_llama(raw: RawServer) -> tuple[list[str], list[str]]:
    """The lines naming the missing Code Llama 7B: on stderr, and in window/logMessage."""
    raw.answer(raw.request("shutdown"))
    raw.notify("exit")
    raw.exit_code()
    logged = [m["params"]["message"] for m in raw.seen
              if m.get("method") in ("window/logMessage", "window/showMessage")]
    return ([line for line in raw.stderr().splitlines() if NOT_DOWNLOADED in line],
            [line for line in logged if NOT_DOWNLOADED in line])


@pytest.mark.parametrize("model", ["demo", "tiny"])
def test_no_line_about_code_llama_when_the_editor_names_another_model(model, no_code_llama,
                                                                       tiny_model):
    raw = RawServer(env=no_code_llama)
    try:
        raw.initialize(options={"engine": "local",
                                "model": "demo" if model == "demo" else str(tiny_model)})
        assert raw.wait_for_model()["state"] == "ready"
        assert notes_about_code_llama(raw) == ([], [])
    finally:
        raw.close()


def test_the_line_about_code_llama_comes_once_when_auto_falls_back(no_code_llama):
    raw = RawServer(env=no_code_llama)
    try:
        raw.initialize(options={"engine": "local"})
        assert raw.wait_for_model()["state"] == "ready"
        on_stderr, in_log = notes_about_code_llama(raw)
        assert len(on_stderr) == 1 and len(in_log) == 1
        assert "hf download codellama/CodeLlama-7b-hf" in in_log[0]
    finally:
        raw.close()
