"""dlcourse.serving and dlcourse.benchmarking, the helpers of lesson 05: a background
server on loopback that starts, answers and stops cleanly, timing summaries, and the
count of threads a function kept busy."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dlcourse import benchmarking, serving


async def echo_app(scope, receive, send):
    """A minimal ASGI app: answers every request with its path."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def test_background_server_answers_on_loopback_and_stops():
    server = serving.BackgroundServer(echo_app)
    with server:
        assert server.running and server.host == "127.0.0.1" and server.port > 0
        url = server.url
        with httpx.Client(base_url=url, timeout=5) as client:
            assert [client.get(f"/n{i}").text for i in range(3)] == ["/n0", "/n1", "/n2"]
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/again", timeout=2)
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018 - the property raises once stopped


def test_small_requests_do_not_wait_for_delayed_acknowledgements():
    # With Nagle's algorithm on the server's connections, every response written in two
    # parts waits ~40 ms for the client's delayed ACK; with TCP_NODELAY it takes ~1 ms.
    with serving.BackgroundServer(echo_app) as server, httpx.Client(base_url=server.url) as client:
        client.post("/warm", content=b"x" * 300)
        latencies = []
        for _ in range(15):
            start = time.perf_counter()
            client.post("/p", content=b"x" * 300)
            latencies.append(time.perf_counter() - start)
    assert sorted(latencies)[len(latencies) // 2] < 0.02


def test_two_servers_get_two_ports_and_a_taken_port_is_refused():
    with serving.BackgroundServer(echo_app) as first, serving.BackgroundServer(echo_app) as second:
        assert first.port != second.port
        with pytest.raises(OSError):
            serving.BackgroundServer(echo_app, port=first.port).start()


def test_free_port_can_be_bound():
    port = serving.free_port()
    assert isinstance(port, int) and 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # raises OSError if the port is taken
        assert sock.getsockname() == ("127.0.0.1", port)


def test_time_call_warms_up_and_repeats():
    calls = []
    timing = benchmarking.time_call(lambda: calls.append(1), warmup=3, min_time=0.0,
                                    min_calls=7)
    assert len(calls) == 10 and timing.calls == 7
    slow = benchmarking.time_call(lambda: time.sleep(0.01), warmup=0, min_time=0.03,
                                  min_calls=1)
    assert 1 <= slow.calls <= 3 and sum(slow.samples) >= 0.03  # each call sleeps >= 10 ms
    assert slow.best >= 0.009 and slow.best <= slow.median <= slow.percentile(90)


def test_latency_summary_in_milliseconds():
    summary = benchmarking.latency_summary([0.001 * i for i in range(1, 101)])
    assert summary["count"] == 100 and summary["max"] == pytest.approx(100.0)
    assert summary["p50"] == pytest.approx(50.5) and summary["p99"] == pytest.approx(99.01)
    with pytest.raises(ValueError):
        benchmarking.latency_summary([])


def test_sizes(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"x" * 2048)
    assert benchmarking.size_on_disk(tmp_path / "a.bin") == 10
    assert benchmarking.size_on_disk(tmp_path) == 2058
    assert benchmarking.human_bytes(10) == "10 B"
    assert benchmarking.human_bytes(2058) == "2.0 KiB"
    with pytest.raises(FileNotFoundError):
        benchmarking.size_on_disk(tmp_path / "none")


def test_threads_at_work_counts_the_threads_that_did_work():
    if serving.threads_at_work(lambda: None) is None:
        pytest.skip("no per-thread CPU times here (/proc is Linux's)")

    def spin(seconds=0.05):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    assert serving.threads_at_work(spin, seconds=0.3) == 1

    with ThreadPoolExecutor(1) as pool:  # a worker that lives on, as a runtime's pool does

        def two_threads():
            handed = pool.submit(spin)
            spin()
            handed.result()

        assert serving.threads_at_work(two_threads, seconds=0.3) == 2

        def handed_over():  # the caller only waits while the worker computes
            pool.submit(spin).result()

        assert serving.threads_at_work(handed_over, seconds=0.3) == 1
