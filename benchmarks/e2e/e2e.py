#!/usr/bin/env python3
"""Helpers of compare-qemu.sh: one measured run per call, printed as one line of JSON.

  e2e.py raw SIZE_BYTES                       raw loopback TCP between two processes (the ceiling)
  e2e.py qemu FILE SIZE_BYTES CHANNELS WARM   QEMU 7.2 -> QEMU 7.2 of FILE's bytes as guest RAM
  e2e.py livemig CLI FILE SIZE_BYTES CHANNELS MODE   livemig send -> livemig receive; MODE cold|warm|race
  e2e.py touch SIZE_BYTES                     first touch of fresh anonymous memory, one byte per page
  e2e.py table RESULTS                        the table of the medians of RESULTS (these lines, tagged)

Throughput is transferred bytes / total time, as each side reports them (QEMU's query-migrate
total-time and ram.transferred; livemig send --json's total-time and ram.transferred).
"""
import json, mmap, os, socket, subprocess, sys, tempfile, time

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
DEADLINE = float(os.environ.get("E2E_DEADLINE", "600"))  # seconds for any one run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def out(**fields):
    print(json.dumps(fields), flush=True)


# ---------------------------------------------------------------- raw TCP
def raw(size):
    """A child process sinks SIZE bytes and answers one byte; the time is from connect to that answer."""
    port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "raw-sink", str(port), str(size)], stdout=subprocess.PIPE)
    assert sink.stdout.readline().strip() == b"ready"
    chunk = os.urandom(4 << 20)
    view = memoryview(chunk)
    with socket.create_connection(("127.0.0.1", port)) as s:
        start = time.perf_counter()
        left = size
        while left > 0:
            n = min(left, len(chunk))
            s.sendall(view[:n])
            left -= n
        s.shutdown(socket.SHUT_WR)
        assert s.recv(1) == b"k"
        elapsed = time.perf_counter() - start
    sink.wait(DEADLINE)
    out(kind="raw", bytes=size, seconds=elapsed)


def raw_sink(port, size):
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        print("ready", flush=True)
        conn, _ = listener.accept()
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = conn.recv_into(view)
            if n == 0:
                break
            got += n
        conn.sendall(b"k")
        conn.close()


# ---------------------------------------------------------------- first touch
def touch(size):
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = time.perf_counter()
    for off in range(0, size, 4096):
        m[off] = 1
    elapsed = time.perf_counter() - start
    out(kind="touch", bytes=size, seconds=elapsed)


# ---------------------------------------------------------------- QEMU
class Qmp:
    def __init__(self, path):
        end = time.monotonic() + 60
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise RuntimeError("QMP closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise RuntimeError(f"{name}: {reply['error']}")
        return reply["return"]


def qemu_start(tmp, name, args):
    sock = os.path.join(tmp, name + ".qmp")
    proc = subprocess.Popen([QEMU, "-nodefaults", "-display", "none", "-S", "-qmp", f"unix:{sock},server=on,wait=off", *args],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, name + ".log"), "wb"))
    start = time.perf_counter()
    qmp = Qmp(sock)
    return proc, qmp, time.perf_counter() - start


def multifd(qmp, channels):
    if channels > 1:
        qmp.cmd("migrate-set-capabilities", capabilities=[{"capability": "multifd", "state": True}])
        qmp.cmd("migrate-set-parameters", **{"multifd-channels": channels})


def qemu(path, size, channels, warm):
    mib = size >> 20
    with tempfile.TemporaryDirectory(prefix="e2e-qemu-") as tmp:
        # The source's RAM is FILE, mapped privately: its pages are random and it never runs (-S).
        src, sq, _ = qemu_start(tmp, "src", ["-M", "pc", "-m", f"{mib}M",
                                             "-object", f"memory-backend-file,id=pc.ram,size={mib}M,mem-path={path},share=off",
                                             "-machine", "memory-backend=pc.ram"])
        dst, dq, startup = qemu_start(tmp, "dst", ["-M", "pc", "-m", f"{mib}M", "-incoming", "defer",
                                                   *(["-mem-prealloc"] if warm else [])])
        try:
            port = free_port()
            multifd(dq, channels)
            dq.cmd("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
            multifd(sq, channels)
            sq.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
            sq.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
            end = time.monotonic() + DEADLINE
            while True:
                info = sq.cmd("query-migrate")
                if info.get("status") in ("completed", "failed", "cancelled"):
                    break
                if time.monotonic() > end:
                    raise RuntimeError("QEMU migration passed the deadline")
                time.sleep(0.02)
            if info["status"] != "completed":
                raise RuntimeError(f"QEMU migration {info['status']}: {info.get('error-desc')}")
            out(kind="qemu", bytes=info["ram"]["transferred"], seconds=info["total-time"] / 1000.0,
                channels=channels, warm=warm, dest_startup_seconds=startup)
        finally:
            for p in (src, dst):
                p.kill()
                p.wait(60)


# ---------------------------------------------------------------- livemig
def wait_line(proc, prefix, deadline):
    while True:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"livemig receive ended before '{prefix}'")
        text = line.decode().strip()
        if text.startswith(prefix):
            return text
        if time.monotonic() > deadline:
            raise RuntimeError(f"no '{prefix}' in time")


def livemig(cli, path, size, channels, mode):
    end = time.monotonic() + DEADLINE
    extra = ["--multifd-channels", str(channels)] if channels > 1 else []
    recv = subprocess.Popen([cli, "receive", "tcp:127.0.0.1:0", "--ram", f"pc.ram:{size}", "--json",
                             *(["--no-prefault"] if mode == "cold" else []), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        uri = wait_line(recv, "listening on ", end)[len("listening on "):]
        prefault = None
        if mode == "warm":
            # "prefaulted 1 GiB of RAM in 812 ms": the destination is warm before the source starts.
            prefault = float(wait_line(recv, "prefaulted ", end).split(" in ")[1].split()[0]) / 1000.0
        send = subprocess.run([cli, "send", uri, "--ram", f"pc.ram:{size}:{path}", "--max-bandwidth", "0", "--json", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=DEADLINE)
        if send.returncode != 0:
            raise RuntimeError(f"livemig send failed: {send.stderr.decode()[-2000:]}")
        info = json.loads(send.stdout)
        recv.wait(max(1, end - time.monotonic()))
        out(kind="livemig", bytes=info["ram"]["transferred"], seconds=info["total-time"] / 1000.0,
            channels=channels, mode=mode, prefault_seconds=prefault)
    finally:
        if recv.poll() is None:
            recv.kill()
        recv.wait(60)


# ---------------------------------------------------------------- table
def table(path):
    import statistics
    rows = {}
    for line in open(path):
        r = json.loads(line)
        key = (r["size"], r["row"])
        rows.setdefault(key, []).append(r)

    def med(key, field="rate"):
        vals = [r[field] for r in rows.get(key, []) if r.get(field) is not None]
        return statistics.median(vals) if vals else None

    def gbs(v):
        return "n/a" if v is None else f"{v / 1e9:5.2f}"

    def ratio(a, b):
        return "n/a" if a is None or b is None else f"{a / b:5.2f}"

    sizes = sorted({k[0] for k in rows}, key=lambda s: int(s[:-1]) * {"M": 1, "G": 1024}[s[-1]])
    print(f"{'size':>4}  {'row':<22} {'GB/s':>6} {'runs':>4}  {'/QEMU':>6}  {'/raw':>6}")
    for size in sizes:
        raw_rate = med((size, "raw tcp"))
        order = ["raw tcp"] + [f"{who} {t} x{c}" for c in (1, 2, 4) for who in ("qemu", "livemig") for t in ("cold", "warm", "race")]
        for name in order:
            key = (size, name)
            if key not in rows:
                # A livemig without multifd still gets its rows beside QEMU's, as n/a.
                if name.startswith("livemig") and not name.endswith("x1") and (size, f"qemu cold {name.split()[2]}") in rows:
                    print(f"{size:>4}  {name:<22} {'n/a':>6} {0:>4}  {'n/a':>6}  {'n/a':>6}")
                continue
            who, temp, ch = (name.split() + ["", ""])[:3]
            rate = med(key)
            runs = len(rows[key])
            # Same channels and temperature; livemig's race (prefault started as it listens, source
            # connecting at once) is QEMU's default start, so it is set beside QEMU cold.
            qemu_key = (size, f"qemu {'cold' if temp == 'race' else temp} {ch}")
            vs_qemu = ratio(rate, med(qemu_key)) if who == "livemig" else ""
            print(f"{size:>4}  {name:<22} {gbs(rate):>6} {runs:>4}  {vs_qemu:>6}  {ratio(rate, raw_rate):>6}")
        touch = med((size, "first touch"), "seconds")
        prefault = med((size, "livemig warm x1"), "prefault_seconds")
        cold_start = med((size, "qemu cold x1"), "dest_startup_seconds")
        warm_start = med((size, "qemu warm x1"), "dest_startup_seconds")
        print(f"{size:>4}  first touch of the destination's RAM: one byte per page {touch if touch is None else f'{touch:.2f} s'}; "
              f"livemig prefault (listen to resident) {prefault if prefault is None else f'{prefault:.2f} s'}; "
              f"QEMU -mem-prealloc startup minus plain startup "
              f"{'n/a' if cold_start is None or warm_start is None else f'{warm_start - cold_start:.2f} s'}")


if __name__ == "__main__":
    a = sys.argv[1:]
    {"raw": lambda: raw(int(a[1])),
     "raw-sink": lambda: raw_sink(int(a[1]), int(a[2])),
     "touch": lambda: touch(int(a[1])),
     "table": lambda: table(a[1]),
     "qemu": lambda: qemu(a[1], int(a[2]), int(a[3]), a[4] == "warm"),
     "livemig": lambda: livemig(a[1], a[2], int(a[3]), int(a[4]), a[5])}[a[0]]()
