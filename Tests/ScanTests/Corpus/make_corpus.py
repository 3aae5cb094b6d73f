#!/usr/bin/env python3
"""Writes the pickle-scanner test corpus into DIR and DIR/expected.json.

Every file is made by Python's own pickle, zipfile, tarfile, NumPy or joblib (hand-written
opcode bytes only where an attacker would write them by hand); each carries the verdict a
careful reviewer gives it, decided here and not by the scanner under test:
    name -> [verdict by default, verdict with --strict]
"""
import bz2, collections, functools, io, json, os, pickle, struct, sys, tarfile, types, zipfile, zlib

import joblib
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
expected = {}


def write(name, data, default, strict=None):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    expected[name] = [default, strict or default]


def fake_module(name, **members):
    """A module that pickle can reference by name (as torch, sklearn or a user's code would be)."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    module = sys.modules[name]
    for key, value in members.items():
        value.__module__ = name
        value.__qualname__ = key
        setattr(module, key, value)
    return module


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


class FloatStorage:
    pass


fake_module("torch._utils", _rebuild_tensor_v2=_rebuild_tensor_v2)
fake_module("torch", FloatStorage=FloatStorage)


class Tensor:
    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def __reduce__(self):
        stride = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
        return (_rebuild_tensor_v2, (Storage(self.key, int(np.prod(self.shape))), 0, self.shape, stride, False, collections.OrderedDict()))


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class TorchPickler(pickle.Pickler):
    """Writes what torch.save writes: storages as persistent ids ('storage', type, key, location, numel)."""

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def torch_pickle(obj, protocol=2):
    buffer = io.BytesIO()
    TorchPickler(buffer, protocol=protocol).dump(obj)
    return buffer.getvalue()


def torch_zip(data_pkl, storages):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/byteorder", "little")
        for key, raw in storages.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/.data/serialization_id", "1234")
    return buffer.getvalue()


class Evil:
    """Runs a shell command when unpickled."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


state = collections.OrderedDict(
    [("fc1.weight", Tensor("0", (4, 3))), ("fc1.bias", Tensor("1", (4,)))])
storages = {"0": np.zeros(12, np.float32).tobytes(), "1": np.zeros(4, np.float32).tobytes()}

# --- benign -----------------------------------------------------------------------------
plain = {"a": [1, 2.5, "x", None, True], "b": (1, 2), "c": b"bytes", "d": {1, 2}, "e": frozenset([3]), "f": 2**70}
for protocol in range(0, 6):
    write(f"plain_p{protocol}.pkl", pickle.dumps(plain, protocol=protocol), "safe")
write("ordered_dict.pkl", pickle.dumps(collections.OrderedDict(a=1), protocol=2), "safe")
write("torch_state_dict.pt", torch_zip(torch_pickle(state), storages), "safe")
write("torch_state_dict_p4.pt", torch_zip(torch_pickle(state, 4), storages), "safe")

magic = 0x1950A86A20F9469CFC6C
legacy = b"".join(pickle.dumps(x, protocol=2) for x in (magic, 1001, {"protocol_version": 1001, "little_endian": True})) \
    + torch_pickle(state) + pickle.dumps(["0", "1"], protocol=2) + struct.pack("<q", 12) + storages["0"] + struct.pack("<q", 4) + storages["1"]
write("torch_legacy.pt", legacy, "safe")


def tar_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


legacy_storages = pickle.dumps(1, protocol=2) + pickle.dumps(("0", "cpu", FloatStorage), protocol=2) + struct.pack("<q", 12) + storages["0"]
legacy_tensors = pickle.dumps(1, protocol=2) + pickle.dumps(("t0", "0", "FloatTensor"), protocol=2) \
    + struct.pack("<ii", 2, 0) + struct.pack("<qq", 4, 3) + struct.pack("<qq", 3, 1) + struct.pack("<q", 0)
write("torch_legacy_tar.pt", tar_bytes([
    ("sys_info", pickle.dumps({"protocol_version": 1000}, protocol=2)),
    ("pickle", pickle.dumps({"fc1.weight": "t0"}, protocol=2)),
    ("storages", legacy_storages), ("tensors", legacy_tensors)]), "safe")

buffer = io.BytesIO()
np.save(buffer, np.arange(6, dtype=np.float64))
write("floats.npy", buffer.getvalue(), "safe")
buffer = io.BytesIO()
np.save(buffer, np.array([{"a": 1}, [1, 2], "s"], dtype=object), allow_pickle=True)
write("objects.npy", buffer.getvalue(), "safe")
buffer = io.BytesIO()
np.savez(buffer, w=np.ones((2, 2), np.float32), o=np.array([(1, 2), "x"], dtype=object))
write("mixed.npz", buffer.getvalue(), "safe")
joblib.dump({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "o": np.array([1, "a"], dtype=object), "s": "text"},
            os.path.join(out, "arrays.joblib"))
expected["arrays.joblib"] = ["safe", "safe"]
joblib.dump({"w": np.arange(100, dtype=np.int64)}, os.path.join(out, "arrays_zlib.joblib"), compress=("zlib", 3))
expected["arrays_zlib.joblib"] = ["safe", "safe"]
joblib.dump({"w": np.arange(100, dtype=np.int64)}, os.path.join(out, "arrays_gzip.joblib"), compress=("gzip", 3))
expected["arrays_gzip.joblib"] = ["safe", "safe"]


class LogisticRegression:
    pass


fake_module("sklearn.linear_model._logistic", LogisticRegression=LogisticRegression)
model = LogisticRegression()
model.coef_ = [[0.5, -0.25]]
write("sklearn_model.pkl", pickle.dumps(model, protocol=4), "safe", "suspicious")

# --- suspicious -------------------------------------------------------------------------
class Net:
    pass


fake_module("mymodels", Net=Net)
write("unknown_class.pkl", pickle.dumps(Net(), protocol=4), "suspicious")
write("functools_partial.pkl", pickle.dumps(functools.partial(int, "5"), protocol=2), "suspicious")
# An extension-registry code resolves to a global only the loading process knows.
write("extension_code.pkl", b"\x80\x02\x82\x2a)R.", "suspicious")
# A callable computed while loading (the result of a call, called again).
write("computed_callee.pkl", b"\x80\x02c__builtin__\nset\n)R)R.", "suspicious")

# --- malicious --------------------------------------------------------------------------
for protocol in (0, 1, 2, 4, 5):
    write(f"os_system_p{protocol}.pkl", pickle.dumps(Evil(os.system, "echo pwned"), protocol=protocol), "malicious")
import subprocess, builtins, runpy, shutil, pty, socket, operator, pydoc, importlib, timeit, code, webbrowser
write("subprocess_popen.pkl", pickle.dumps(Evil(subprocess.Popen, ["id"]), protocol=4), "malicious")
write("builtins_eval.pkl", pickle.dumps(Evil(builtins.eval, "print('pwned')"), protocol=2), "malicious")
write("builtins_exec.pkl", pickle.dumps(Evil(builtins.exec, "import os"), protocol=3), "malicious")
write("builtins_getattr.pkl", pickle.dumps(Evil(builtins.getattr, Evil, "__reduce__"), protocol=4), "malicious")
write("dunder_import.pkl", pickle.dumps(Evil(builtins.__import__, "os"), protocol=4), "malicious")
write("runpy.pkl", pickle.dumps(Evil(runpy.run_path, "/tmp/x.py"), protocol=4), "malicious")
write("shutil_rmtree.pkl", pickle.dumps(Evil(shutil.rmtree, "/tmp/nothing"), protocol=4), "malicious")
write("pty_spawn.pkl", pickle.dumps(Evil(pty.spawn, "/bin/sh"), protocol=4), "malicious")
write("socket.pkl", pickle.dumps(Evil(socket.create_connection, ("127.0.0.1", 9)), protocol=4), "malicious")
write("operator_attrgetter.pkl", pickle.dumps(Evil(operator.attrgetter, "system"), protocol=4), "malicious")
write("webbrowser.pkl", pickle.dumps(Evil(webbrowser.open, "http://127.0.0.1/"), protocol=4), "malicious")
# Published scanner bypasses.
write("pydoc_locate.pkl", pickle.dumps(Evil(pydoc.locate, "os.system"), protocol=4), "malicious")
write("importlib_import_module.pkl", pickle.dumps(Evil(importlib.import_module, "os"), protocol=4), "malicious")
write("timeit_timeit.pkl", pickle.dumps(Evil(timeit.timeit, "__import__('os').system('id')"), protocol=4), "malicious")
write("code_interpreter.pkl", pickle.dumps(Evil(code.InteractiveInterpreter), protocol=4), "malicious")
def u(text):
    """SHORT_BINUNICODE: the opcode, a length byte, the UTF-8 text."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


write("numpy_getlincoef.pkl",
      b"\x80\x04" + u("numpy.f2py.crackfortran") + u("getlincoef") + b"\x93" + u("__import__('os')") + b"}\x86R.", "malicious")
# Names built on the stack and kept in the memo, escaped in protocol 0 strings, walked as attributes.
write("memo_stack_global.pkl",
      b"\x80\x04" + u("os") + b"\x940" + u("system") + b"\x940h\x00h\x01\x93" + u("id") + b"\x85R.", "malicious")
write("escaped_string_global.pkl", b"S'o\\x73'\nS'sys\\164em'\n\x93S'id'\n\x85R.", "malicious")
write("attribute_chain.pkl", b"\x80\x04" + u("posixpath") + u("os.system") + b"\x93" + u("id") + b"\x85R.", "malicious")
write("dunder_chain.pkl", b"\x80\x04" + u("builtins") + u("object.__subclasses__") + b"\x93)R.", "malicious")
write("inst_opcode.pkl", b"(S'echo pwned'\nios\nsystem\n.", "malicious")
write("obj_opcode.pkl", b"(cos\nsystem\nS'echo pwned'\no.", "malicious")
# Malicious payloads inside the containers.
evil_state = collections.OrderedDict(state)
evil_state["x"] = Evil(os.system, "echo pwned")
write("torch_malicious.pt", torch_zip(torch_pickle(evil_state), storages), "malicious")
legacy_evil = b"".join(pickle.dumps(x, protocol=2) for x in (magic, 1001, {"protocol_version": 1001})) \
    + torch_pickle(evil_state) + pickle.dumps(["0", "1"], protocol=2) + struct.pack("<q", 12) + storages["0"]
write("torch_legacy_malicious.pt", legacy_evil, "malicious")
write("torch_tar_malicious.pt", tar_bytes([("sys_info", pickle.dumps({}, protocol=2)),
                                           ("pickle", pickle.dumps(Evil(os.system, "id"), protocol=2)),
                                           ("storages", pickle.dumps(0, protocol=2)), ("tensors", pickle.dumps(0, protocol=2))]), "malicious")
buffer = io.BytesIO()
np.save(buffer, np.array([Evil(os.system, "id")], dtype=object), allow_pickle=True)
write("objects_malicious.npy", buffer.getvalue(), "malicious")
buffer = io.BytesIO()
np.savez(buffer, w=np.ones(3), o=np.array([Evil(os.system, "id")], dtype=object))
write("malicious.npz", buffer.getvalue(), "malicious")
joblib.dump({"w": np.arange(10.0), "o": np.array([Evil(os.system, "id")], dtype=object)}, os.path.join(out, "malicious.joblib"))
expected["malicious.joblib"] = ["malicious", "malicious"]
write("second_pickle.pkl", pickle.dumps({"a": 1}, protocol=2) + pickle.dumps(Evil(os.system, "id"), protocol=2), "malicious")
# Evidence found before the stream breaks stands: the unpickler has already run it.
evil = pickle.dumps(Evil(os.system, "id"), protocol=2)
write("truncated_after_reduce.pkl", evil[:-1] + b"\x00\x00", "malicious")

# --- unreadable -------------------------------------------------------------------------
benign = pickle.dumps(plain, protocol=4)
write("truncated.pkl", benign[: len(benign) // 2], "unreadable")
write("huge_length.pkl", b"\x80\x04X\xff\xff\xff\xff", "unreadable")
write("memo_never_stored.pkl", b"\x80\x04N\x94j\xfe\xff\xff\xff.", "unreadable")
write("deep_marks.pkl", b"\x80\x04" + b"(" * 1_000_000, "unreadable")
write("deep_lists.pkl", b"\x80\x02" + b"]" * 500_000 + b"a" * 499_999 + b".", "safe")
write("bad_protocol.pkl", b"\x80\x09N.", "unreadable")
write("negative_put.pkl", b"(dp0\nVa\np-1\n.", "unreadable")
write("garbage.bin", bytes(range(256)) * 10, "unreadable")
write("text.txt", b"hello, this is not a model\n", "unreadable")
write("bz2.joblib", bz2.compress(pickle.dumps(plain)), "unreadable")
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.pkl", pickle.dumps(state, protocol=2))
torch_zip_bytes = buffer.getvalue()
write("truncated.pt", torch_zip_bytes[: len(torch_zip_bytes) - 30], "unreadable")
# A zip bomb: one deflated member of 2 GiB of zeros (about 2 MB on disk).
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("archive/data.pkl", "w", force_zip64=True) as member:
        chunk = bytes(1 << 24)
        for _ in range(128):
            member.write(chunk)
write("zip_bomb.pt", buffer.getvalue(), "unreadable")

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(f"{len(expected)} files in {out}")
