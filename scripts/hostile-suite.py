#!/usr/bin/env python3
"""Hostile cases against the release `byzsim` binary, as an attacker or a careless operator
would try them: malformed topologies, hostile CSV files, corrupted data files, corrupted
checkpoints, kill -9 + resume loops, two runs on one endpoint, a read-only and a full run
directory, and intruders on the wire.

Each case passes when the binary ends as it must: a clear error (non-zero exit, an `Error:`
line that names the file, no signal, no crash text) or a correct result, within its time limit.
Prints one line per failed case and a closing `N passed, N failed` line; exits 1 if any failed.

Usage: python3 scripts/hostile-suite.py [--bin .build/release/byzsim] [--only GROUP,...]
Groups: topologies, csv, data, checkpoints, kills, wire, disk. `disk` needs root (tmpfs mounts).
"""
import argparse, json, os, random, shutil, signal, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRASH_WORDS = ("Fatal error", "Stack dump", "Segmentation fault", "Illegal instruction", "SIGSEGV", "SIGILL", "Trace/breakpoint")
results = []


def run(args, timeout=60, cwd=None, env=None):
    e = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if env:
        e.update(env)
    start = time.time()
    try:
        p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=e, errors="replace")
        return p.returncode, p.stdout, p.stderr, time.time() - start
    except subprocess.TimeoutExpired:
        return None, "", "timed out", time.time() - start


def record(group, name, ok, detail=""):
    results.append((group, name, ok))
    if not ok:
        print(f"FAIL {group}: {name}: {detail[:400]}")


def clear_error(group, name, rc, err, must_name=None):
    """A non-zero exit with a message (`Error: …`, or validate's `FILE:LINE: KEY: …`) that names
    `must_name` when given, and no signal or crash text."""
    crashed = rc is None or rc < 0 or any(w in err for w in CRASH_WORDS)
    ok = rc not in (None, 0) and not crashed and err.strip() != "" and (must_name is None or must_name in err)
    record(group, name, ok, f"rc={rc} stderr={err.strip()[-300:]}")


def toy_data(d, train=400, test=100, side=10, test_side=None):
    os.makedirs(d, exist_ok=True)
    for prefix, count, s in (("train", train, side), ("t10k", test, test_side or side)):
        images = bytes([0, 0, 8, 3]) + struct.pack(">III", count, s, s)
        labels = bytes([0, 0, 8, 1]) + struct.pack(">I", count)
        im, lb = bytearray(), bytearray()
        for i in range(count):
            k = (i * 7 + (3 if prefix == "t10k" else 0)) % 10
            lb.append(k)
            im += bytes(200 if c == k else (i * 31 + r * 7 + c * 13) % 60 for r in range(s) for c in range(s))
        open(f"{d}/{prefix}-images-idx3-ubyte", "wb").write(images + bytes(im))
        open(f"{d}/{prefix}-labels-idx1-ubyte", "wb").write(labels + bytes(lb))


def topology(data, rounds=40, workers=2, endpoint="ipc", curve="true", extra="", seed=3):
    return f"""name = "h"
seed = {seed}
rounds = {rounds}
[data]
dir = "{data}"
[model]
kind = "mlp"
hidden = [16]
[training]
batch_size = 16
[coordinator]
endpoint = "{endpoint}"
eval_every = 10
checkpoint_every = 5
heartbeat_ms = 100
liveness_ms = 1000
{extra}
[[workers]]
count = {workers}
[security]
curve = {curve}
"""


# MARK: topologies

def nonsense_topologies(data):
    base = topology(data)
    lines = base.split("\n")
    cases = []
    def replace(key, value):
        out = [l for l in lines if not l.startswith(key + " =")]
        section = {"rounds": None, "seed": None, "name": None}.get(key, "missing")
        return "\n".join(([f"{key} = {value}"] if section is None else []) + out)
    for key, values in {
        "rounds": ["0", "-1", "10000000000", "1.5", '"ten"', "[]", "9223372036854775807"],
        "seed": ["-5", '"x"', "1e3"],
        "name": ['""', '"a/b"', '"' + "x" * 300 + '"', "1"],
    }.items():
        for v in values:
            cases.append((f"{key} = {v}", replace(key, v)))
    table_values = {
        "hidden": ["[1000000000]", "[0]", "[]", "[60000, 60000]", '["a"]', "[-3]"],
        "batch_size": ["0", "9223372036854775807", "1e9"],
        "eval_every": ["0", "10000000000"],
        "checkpoint_every": ["0", "-1"],
        "heartbeat_ms": ["0", "1000000"],
        "liveness_ms": ["9223372036854775807", "10"],
        "endpoint": ['"udp://x"', '""', "5"],
        "count": ["0", "-1", "9223372036854775807", "5000", '"two"'],
    }
    for key, values in table_values.items():
        for v in values:
            cases.append((f"{key} = {v}", base.replace(next(l for l in lines if l.startswith(key + " =")), f"{key} = {v}")))
    extras = [
        "learning_rate = 1e300", "learning_rate = nan", "learning_rate = -1", "momentum = 1", "weight_decay = 1e39",
        "local_steps = 100000000", "round_deadline_ms = 9223372036854775807", "max_update_norm = 1e30",
        "max_update_norm = inf", "server_learning_rate = 1e39", 'aggregator = { name = "krum", f = nan }',
        'aggregator = { name = "krumm", f = 1 }', 'aggregator = { name = "krum", f = 100 }', 'auditors = ["nope"]',
        "sample_fraction = 0", "root_dataset_size = 100000", 'preaggregators = [{ name = "nnm", f = -1 }]',
        "sanitize_mantissa_bits = 40", "unknown_key = 1",
    ]
    for e in extras:
        section = "[training]" if e.split(" ")[0] in ("learning_rate", "momentum", "weight_decay", "local_steps") else "[coordinator]"
        if section == "[training]":
            text = base.replace("[training]\n", "[training]\n" + e + "\n")
        else:
            text = base.replace("[coordinator]\n", "[coordinator]\n" + e + "\n")
        cases.append((e, text))
    cases += [
        ("deep arrays", "x = " + "[" * 50000 + "]" * 50000),
        ("deep inline tables", "x = " + "{a=" * 50000 + "}" * 50000),
        ("deep dotted table", "[" + ".".join(["a"] * 50000) + "]"),
        ("worker counts overflow", base + "\n[[workers]]\ncount = 9223372036854775807\n[[workers]]\ncount = 9223372036854775807\n"),
        ("start_round past the end", base + '\n[[workers]]\ncount = 1\nbehavior = "sign_flip"\nstart_round = 40\n'),
        ("attack z = inf", base + '\n[[workers]]\ncount = 1\nbehavior = "alie"\nattack = { z = inf }\n'),
        ("NUL byte", base.replace("seed", "se\0ed")),
        ("invalid UTF-8", base.encode() and base[:20] + "\udcff" + base[20:]),
        ("date value", base.replace("seed = 3", "seed = 1979-05-27")),
        ("duplicate key", base.replace("seed = 3", "seed = 3\nseed = 4")),
        ("unterminated string", base.replace('"h"', '"h')),
        ("empty file", ""),
        ("test images 9x9 vs train 10x10", None),
        ("cnn on 5x5 images", None),
    ]
    return cases


def group_topologies(tmp):
    data = f"{tmp}/data"
    toy_data(data)
    odd = f"{tmp}/odd"
    toy_data(odd, test_side=9)
    tiny = f"{tmp}/tiny"
    toy_data(tiny, side=5)
    for i, (name, text) in enumerate(nonsense_topologies(data)):
        if text is None:
            text = topology(odd) if "9x9" in name else topology(tiny).replace('kind = "mlp"\nhidden = [16]', 'kind = "cnn"')
        path = f"{tmp}/t{i}.toml"
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        rc, _, err, _ = run(["validate", path], timeout=30)
        clear_error("topologies", name, rc, err, must_name=f"t{i}.toml")


# MARK: CSV

def group_csv(tmp):
    cases = {
        "NUL byte": b"1,2\n3,\x004\n", "control byte": b"1,2\n3,\x1b4\n", "invalid UTF-8": b"1,2\n3,\xff\n",
        "ragged": b"1,2,3\n4,5\n", "empty": b"", "only newlines": b"\n\n\n", "text": b"a,b\n", "header": b"x,y\n1,2\n",
        "empty field": b"1,,3\n", "trailing comma": b"1,2,\n", "huge field": b"1" * 100000 + b",2\n",
        "exponent overflow": b"1e400,2\n3,4\n", "all NaN": b"nan,nan\nnan,nan\n", "inf rows": b"inf,1\n-inf,2\n",
        "norm above 1e15": b"1e16,0\n1,1\n", "hex float": b"0x1p3,1\n2,2\n", "semicolons": b"1;2\n3;4\n",
        "BOM": b"\xef\xbb\xbf1,2\n3,4\n", "CRLF": b"1,2\r\n3,4\r\n", "spaces": b" 1 , 2 \n 3 , 4 \n",
        "one column": b"1\n2\n3\n", "negative zero": b"-0,0\n0,-0\n", "unicode minus": "\u22121,2\n3,4\n".encode(),
        "quoted": b'"1","2"\n', "tab separated": b"1\t2\n", "very many rows": b"1,2\n" * 200000, "plus signs": b"+1,+2\n3,4\n",
        "nan row among good": b"1,2\nnan,3\n5,6\n", "binary junk": bytes(random.Random(1).randrange(256) for _ in range(4096)),
        "long line of zeros": (",".join(["0"] * 100000) + "\n").encode(), "denormal": b"1e-45,1\n2,2\n",
        "whitespace lines": b"  \n1,2\n\t\n3,4\n", "unterminated last line": b"1,2\n3,4", "form feed": b"1,2\f\n",
    }
    for i, (name, data) in enumerate(cases.items()):
        path = f"{tmp}/u{i}.csv"
        open(path, "wb").write(data)
        rc, out, err, _ = run(["aggregate", "--rule", "median", "--input", path], timeout=60)
        crashed = rc is None or rc < 0 or any(w in err for w in CRASH_WORDS)
        if rc == 0:
            # A result must be finite numbers, one per column.
            ok = not crashed and all(v.strip() and v.strip() not in ("nan", "inf", "-inf") for v in out.strip().split(","))
            record("csv", name, ok, f"stdout={out[:200]}")
        else:
            clear_error("csv", name, rc, err, must_name=f"u{i}.csv")


# MARK: data files

def group_data(tmp):
    base = f"{tmp}/good"
    toy_data(base)
    files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    def variant(name, edit):
        d = f"{tmp}/d-{len(results)}"
        shutil.copytree(base, d)
        edit(d)
        path = f"{d}/t.toml"
        open(path, "w").write(topology(d))
        rc, _, err, _ = run(["validate", path], timeout=30)
        clear_error("data", name, rc, err)
    def mutate(f, fn):
        def edit(d):
            b = bytearray(open(f"{d}/{f}", "rb").read())
            open(f"{d}/{f}", "wb").write(bytes(fn(b)))
        return edit
    variant("missing images", lambda d: os.remove(f"{d}/{files[0]}"))
    variant("missing test labels", lambda d: os.remove(f"{d}/{files[3]}"))
    for f in files:
        variant(f"{f}: truncated", mutate(f, lambda b: b[: len(b) // 2]))
        variant(f"{f}: bad magic", mutate(f, lambda b: b"\x00\x00\x09" + b[3:]))
        variant(f"{f}: trailing bytes", mutate(f, lambda b: b + b"xx"))
    variant("label out of range", mutate(files[1], lambda b: b[:8] + b"\x0b" + b[9:]))
    variant("count mismatch", mutate(files[1], lambda b: b[:4] + struct.pack(">I", 399) + b[8:-1]))
    variant("huge dimensions", mutate(files[0], lambda b: b[:4] + struct.pack(">III", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b[16:]))
    variant("rank 2 images", mutate(files[0], lambda b: b"\x00\x00\x08\x02" + b[4:]))
    def gz_corrupt(d):
        subprocess.run(["gzip", "-f", f"{d}/{files[0]}"], check=True)
        b = bytearray(open(f"{d}/{files[0]}.gz", "rb").read())
        b[len(b) // 2] ^= 0xFF
        open(f"{d}/{files[0]}.gz", "wb").write(bytes(b))
    variant("corrupt gzip", gz_corrupt)
    def gz_bomb(d):
        os.remove(f"{d}/{files[0]}")
        with open(f"{d}/{files[0]}.gz", "wb") as f:
            p = subprocess.Popen(["gzip", "-c"], stdin=subprocess.PIPE, stdout=f)
            header = bytes([0, 0, 8, 3]) + struct.pack(">III", 400, 10, 10)
            p.stdin.write(header)
            zero = bytes(1 << 20)
            for _ in range(1200):
                p.stdin.write(zero)
            p.stdin.close(); p.wait()
    variant("gzip bomb (1.2 GB of zeros)", gz_bomb)


# MARK: checkpoints

def finished_run(tmp, name, rounds=20, curve="true"):
    data = f"{tmp}/{name}-data"
    toy_data(data)
    path = f"{tmp}/{name}.toml"
    open(path, "w").write(topology(data, rounds=rounds, curve=curve))
    rc, out, err, _ = run(["run", path, "--runs-dir", f"{tmp}/{name}-runs", "--json", "--threads"], timeout=120)
    assert rc == 0, err
    return json.loads(out.strip().split("\n")[-1])["run_dir"]


def group_checkpoints(tmp):
    run_dir = finished_run(tmp, "cp")
    cp = f"{run_dir}/checkpoint.bin"
    good = open(cp, "rb").read()
    rng = random.Random(11)
    def body_with_digest(body):
        import hashlib
        return body + hashlib.sha256(body).digest()
    body = good[:-32]
    variants = {"missing": None, "empty": b"", "truncated": good[: len(good) // 2], "one byte short": good[:-1],
                "trailing byte": good + b"\0", "wrong magic": b"BZMD" + good[4:], "version 2": body_with_digest(body[:4] + struct.pack("<I", 2) + body[8:]),
                "other run nonce": body_with_digest(body[:8] + struct.pack("<Q", 12345) + body[16:]),
                "next round 0": body_with_digest(body[:16] + struct.pack("<Q", 0) + body[24:]),
                "next round huge": body_with_digest(body[:16] + struct.pack("<Q", 1 << 40) + body[24:]),
                "parameter count short": body_with_digest(body[:24] + struct.pack("<Q", 3) + body[32:]),
                "NaN parameter": body_with_digest(body[:32] + struct.pack("<f", float("nan")) + body[36:]),
                "all zeros": bytes(len(good)), "random bytes": bytes(rng.randrange(256) for _ in range(len(good)))}
    for k in range(7):
        b = bytearray(good)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        variants[f"bit flip at {i}"] = bytes(b)
    for name, data in variants.items():
        if data is None:
            os.remove(cp)
            rc, out, err, _ = run(["run", "--resume", run_dir, "--threads", "--json"], timeout=120)
            # No checkpoint: a resume starts over, and ends with every round.
            ok = rc == 0 and json.loads(out.strip().split("\n")[-1])["rounds"] == 20
            record("checkpoints", name, ok, err[-300:])
            good = open(cp, "rb").read()
            continue
        open(cp, "wb").write(data)
        rc, _, err, _ = run(["run", "--resume", run_dir, "--threads"], timeout=60)
        clear_error("checkpoints", name, rc, err, must_name="checkpoint.bin")
        open(cp, "wb").write(good)


# MARK: kill -9 and resume

def group_kills(tmp):
    data = f"{tmp}/k-data"
    toy_data(data)
    path = f"{tmp}/k.toml"
    open(path, "w").write(topology(data, rounds=300))
    rc, out, err, _ = run(["run", path, "--runs-dir", f"{tmp}/k-ref", "--json", "--threads"], timeout=300)
    ref = json.loads(out.strip().split("\n")[-1])["run_dir"]
    rng = random.Random(5)
    for trial in range(5):
        runs = f"{tmp}/k-runs-{trial}"
        p = subprocess.Popen([BIN, "run", path, "--runs-dir", runs], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        kills = 0
        run_dir = None
        deadline = time.time() + 120
        while p.poll() is None and time.time() < deadline:
            time.sleep(rng.uniform(0.05, 0.4))
            if run_dir is None and os.path.isdir(runs) and os.listdir(runs):
                run_dir = f"{runs}/{os.listdir(runs)[0]}"
            if run_dir and os.path.exists(f"{run_dir}/processes.json") and kills < 3:
                pid = json.load(open(f"{run_dir}/processes.json"))["coordinator"]
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
                p.wait()
                p = subprocess.Popen([BIN, "run", "--resume", run_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        p.wait()
        ok = p.returncode == 0 and run_dir is not None and open(f"{run_dir}/model.bin", "rb").read() == open(f"{ref}/model.bin", "rb").read()
        lines = open(f"{run_dir}/metrics.jsonl").read().strip().split("\n") if run_dir else []
        ok = ok and len(lines) == 300 and [json.loads(l)["round"] for l in lines] == list(range(1, 301))
        record("kills", f"trial {trial} ({kills} kills)", ok, f"rc={p.returncode}")


# MARK: the wire

def group_wire(tmp):
    data = f"{tmp}/w-data"
    toy_data(data)
    port = 20000 + random.Random(os.getpid()).randrange(20000)
    text = topology(data, rounds=100000, endpoint=f"tcp://127.0.0.1:{port}", curve="false")
    a, b = f"{tmp}/wa.toml", f"{tmp}/wb.toml"
    open(a, "w").write(text)
    open(b, "w").write(text)
    pa = subprocess.Popen([BIN, "run", a, "--runs-dir", f"{tmp}/wa-runs"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    time.sleep(2)
    # Two runs with the same seed on one port: the second cannot take the port...
    rc, _, err, _ = run(["run", b, "--runs-dir", f"{tmp}/wb-runs"], timeout=90)
    clear_error("wire", "second run on the same port", rc, err)
    # ...and a worker of another run (same seed) is refused by the first as wrong_run_id.
    prep = subprocess.run([BIN, "prepare", b, "--runs-dir", f"{tmp}/wc-runs"], capture_output=True, text=True)
    other = prep.stdout.strip()
    w = subprocess.Popen([BIN, "worker", "--run-dir", other, "--id", "0", "--endpoint", f"tcp://127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    w.kill(); w.wait()
    a_dir = f"{tmp}/wa-runs/" + os.listdir(f"{tmp}/wa-runs")[0]
    lines = open(f"{a_dir}/metrics.jsonl").read().strip().split("\n")
    rejected = sum(json.loads(l).get("rejected", {}).get("wrong_run_id", 0) for l in lines)
    record("wire", "another run's worker refused (wrong_run_id)", rejected > 0, f"rejected={rejected}")
    pa.send_signal(signal.SIGINT)
    try:
        pa.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pa.kill()
    record("wire", "Ctrl-C exits 130", pa.returncode == 130, f"rc={pa.returncode}")
    pids = json.load(open(f"{a_dir}/processes.json")).values()
    alive = [p for p in pids if os.path.exists(f"/proc/{p}") and "zombie" not in open(f"/proc/{p}/status").read()]
    record("wire", "Ctrl-C stops every process", not alive, f"alive={alive}")


# MARK: disk

def group_disk(tmp):
    if os.geteuid() != 0:
        record("disk", "needs root for tmpfs mounts", False, "run as root")
        return
    data = f"{tmp}/disk-data"
    toy_data(data)
    path = f"{tmp}/disk.toml"
    open(path, "w").write(topology(data, rounds=1500))
    mnt = f"{tmp}/mnt"
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", mnt], check=True)
    try:
        rc, _, err, _ = run(["run", path, "--runs-dir", mnt], timeout=120)
        clear_error("disk", "full disk while appending metrics", rc, err, must_name="ENOSPC")
        run_dir = f"{mnt}/" + os.listdir(mnt)[0]
        lines = open(f"{run_dir}/metrics.jsonl").read().split("\n")
        whole = lines[-1] == "" and all(json.loads(l) is not None for l in lines[:-1])
        record("disk", "no partial metrics line", whole)
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        rc, out, err, _ = run(["run", "--resume", run_dir, "--json"], timeout=300)
        record("disk", "resume once space is back", rc == 0 and json.loads(out.strip().split("\n")[-1])["rounds"] == 1500, err[-300:])
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        rc, _, err, _ = run(["run", "--resume", run_dir], timeout=60)
        clear_error("disk", "read-only run directory", rc, err)
    finally:
        subprocess.run(["umount", "-l", mnt])


GROUPS = {"topologies": group_topologies, "csv": group_csv, "data": group_data, "checkpoints": group_checkpoints,
          "kills": group_kills, "wire": group_wire, "disk": group_disk}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/byzsim"))
    ap.add_argument("--only", default=",".join(GROUPS))
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    with tempfile.TemporaryDirectory(prefix="byzsim-hostile-") as tmp:
        for g in a.only.split(","):
            before = len(results)
            GROUPS[g](tmp)
            done = results[before:]
            print(f"{g}: {sum(ok for _, _, ok in done)} of {len(done)} cases held", flush=True)
    passed = sum(ok for _, _, ok in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)
