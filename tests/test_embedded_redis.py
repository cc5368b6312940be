"""The embedded Redis starts on demand, once, however many processes ask for it at the same time."""

import subprocess
import sys

import redis

from p2c_project import embedded_redis


def test_concurrent_starters_share_one_server(tmp_path):
    var = tmp_path / "var"
    code = "import sys; from pathlib import Path; from p2c_project.embedded_redis import ensure_running; " \
           "print(ensure_running(Path(sys.argv[1])))"
    try:
        starters = [subprocess.Popen([sys.executable, "-c", code, str(var)], stdout=subprocess.PIPE) for _ in range(4)]
        paths = {p.communicate(timeout=30)[0].decode().strip() for p in starters}
        assert all(p.returncode == 0 for p in starters)
        assert paths == {str(embedded_redis.socket_path(var))}

        client = redis.Redis(unix_socket_path=str(embedded_redis.socket_path(var)))
        client.set("p2c-probe", "1")
        assert client.get("p2c-probe") == b"1"
        pid = int((var / "redis.pid").read_text())
        assert client.info("server")["process_id"] == pid
    finally:
        embedded_redis.stop(var)
    assert not embedded_redis.is_running(embedded_redis.socket_path(var))


def test_long_var_paths_fall_back_to_a_short_socket_path(tmp_path):
    deep = tmp_path / ("x" * 120)
    assert len(str(embedded_redis.socket_path(deep))) <= 100
