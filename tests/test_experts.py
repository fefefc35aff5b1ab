"""Tests of rlcheck.experts: restricted unpickling, checked fetching, expert inference, adapters."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pickle
import re
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from rlcheck import experts
from rlcheck.errors import ResourceUnavailable
from rlcheck.experts import ChecksumError, ExpertFileError, UnsafePickleError, download

# ----------------------------------------------------------------------------- restricted pickles


class _RunsShell:
    """Unpickling this runs a shell command through ``os.system``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_refuses_a_pickle_that_would_run_a_shell_command(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"W": np.zeros(3), "evil": _RunsShell(marker)}, protocol=2)
    pickle.loads(pickle.dumps(_RunsShell(tmp_path / "control")))  # the payload is real
    assert (tmp_path / "control").exists()
    with pytest.raises(UnsafePickleError, match=r"refusing to load global .*system"):
        experts.safe_load(payload)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1+1'\ntR.",
    b"csubprocess\nPopen\n(S'true'\ntR.",
    b"cnumpy\nload\n(S'x'\ntR.",
])
def test_refuses_other_globals(payload: bytes) -> None:
    with pytest.raises(UnsafePickleError):
        experts.safe_load(payload)


def test_refuses_non_latin1_codec_and_object_arrays() -> None:
    with pytest.raises(UnsafePickleError, match="latin-1"):
        experts.safe_load(b"c_codecs\nencode\n(Vabc\nVrot13\ntR.")
    obj = np.array([1, "a"], dtype=object)
    with pytest.raises(ExpertFileError, match="object array"):
        experts.safe_load(pickle.dumps({"x": obj}, protocol=2))
    assert issubclass(UnsafePickleError, ValueError)


def test_truncated_pickle_is_a_clear_error() -> None:
    data = pickle.dumps({"W": np.arange(10.0)}, protocol=2)
    with pytest.raises(ExpertFileError, match="not a valid expert pickle"):
        experts.safe_load(data[: len(data) // 2])


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_round_trips_plain_arrays(protocol: int) -> None:
    tree = {"a": np.arange(6.0).reshape(2, 3), "b": [np.int64(3), np.array(2.5)], "s": "tanh"}
    out = experts.safe_load(pickle.dumps(tree, protocol=protocol))
    np.testing.assert_array_equal(out["a"], tree["a"])
    assert out["s"] == "tanh" and float(out["b"][1]) == 2.5


def test_loads_every_shipped_file(experts_mirror: Path) -> None:
    for name in experts.SHA256:
        tree = experts.safe_load(experts_mirror / name)
        assert isinstance(tree, (dict, list))


# ----------------------------------------------------------------------------- fetching


def test_fetch_from_a_mirror_folder_verifies_in_place(experts_mirror: Path) -> None:
    path = experts.fetch("Ant.pkl", mirror=experts_mirror)
    assert path == experts_mirror / "Ant.pkl"


def test_fetch_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown expert file 'Cat\.pkl'"):
        experts.fetch("Cat.pkl", mirror=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Ant\.pkl not found in the mirror folder"):
        experts.fetch("Ant.pkl", mirror=tmp_path)


def test_truncated_mirror_file_names_file_and_checksum(experts_mirror: Path,
                                                       tmp_path: Path) -> None:
    data = (experts_mirror / "Hopper.pkl").read_bytes()
    (tmp_path / "Hopper.pkl").write_bytes(data[:1000])
    with pytest.raises(ChecksumError, match=r"Hopper\.pkl .*sha256 checksum mismatch"):
        experts.fetch("Hopper.pkl", mirror=tmp_path)
    with pytest.raises(ChecksumError, match=r"Hopper\.pkl"):
        experts.load_policy(tmp_path / "Hopper.pkl")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_mirror(tmp_path: Path, experts_mirror: Path) -> Iterator[tuple[str, Path]]:
    """The expert files (plus a truncated Walker2d.pkl) served over loopback HTTP."""
    served = tmp_path / "served"
    served.mkdir()
    for name in ("Ant.pkl", "expert_data_Hopper-v4.pkl"):
        shutil.copy(experts_mirror / name, served / name)
    (served / "Walker2d.pkl").write_bytes((experts_mirror / "Walker2d.pkl").read_bytes()[:500])
    handler = functools.partial(_Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        server.server_close()


def test_download_over_http_into_the_cache(http_mirror: tuple[str, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    url, served = http_mirror
    cache = tmp_path / "cache"
    monkeypatch.setenv(experts.CACHE_ENV_VAR, str(cache))
    monkeypatch.setenv(experts.MIRROR_ENV_VAR, url)
    path = experts.fetch("Ant.pkl")
    assert path == cache / "Ant.pkl"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == experts.SHA256["Ant.pkl"]
    data = experts.load_expert_data("Hopper-v4")
    assert data["observations"].shape == (2000, 11)
    # Cached: served copy removed, fetch still succeeds without the network.
    (served / "Ant.pkl").unlink()
    assert experts.fetch("Ant.pkl") == path
    # A corrupted cached file is fetched again (and fails here, since the server lost it).
    path.write_bytes(b"garbage")
    with pytest.raises(ResourceUnavailable, match="HTTP Error 404") as info:
        experts.fetch("Ant.pkl")
    assert info.value.fix == experts.MIRROR_FIX
    assert not path.exists()


def test_truncated_download_is_rejected_and_not_cached(http_mirror: tuple[str, Path],
                                                       tmp_path: Path) -> None:
    url, _ = http_mirror
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=r"Walker2d\.pkl .*checksum mismatch"):
        experts.fetch("Walker2d.pkl", mirror=url, cache=cache)
    assert list(cache.iterdir()) == []


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(experts.CACHE_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert experts.cache_dir() == tmp_path / "rlcheck" / "experts"
    monkeypatch.setenv(experts.CACHE_ENV_VAR, str(tmp_path / "x"))
    assert experts.cache_dir() == tmp_path / "x"


def test_public_urls() -> None:
    assert download._public_url("Ant.pkl").endswith("/hw1/cs285/policies/experts/Ant.pkl")
    assert download._public_url("expert_data_Ant-v4.pkl").endswith(
        "/hw1/cs285/expert_data/expert_data_Ant-v4.pkl")


# ----------------------------------------------------------------------------- the policy


def _synthetic_expert(rng: np.random.Generator, obs_dim: int = 4, act_dim: int = 2) -> dict:
    def affine(n_in: int, n_out: int) -> dict:
        return {"AffineLayer": {"W": rng.normal(size=(n_in, n_out)),
                                "b": rng.normal(size=(1, n_out))}}
    mean = rng.normal(size=(1, obs_dim))
    return {"nonlin_type": "tanh", "GaussianPolicy": {
        "obsnorm": {"Standardizer": {"mean_1_D": mean,
                                     "meansq_1_D": mean**2 + rng.uniform(0.5, 2, (1, obs_dim)),
                                     "count": np.array(10.0)}},
        "hidden": {"FeedforwardNet": {"layer_2": affine(5, 3), "layer_0": affine(obs_dim, 5)}},
        "out": affine(3, act_dim),
        "logstdevs_1_Da": np.zeros((1, act_dim))}}


def test_policy_matches_the_equation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tree = _synthetic_expert(rng)
    path = tmp_path / "synthetic.pkl"
    path.write_bytes(pickle.dumps(tree, protocol=2))
    policy = experts.load_policy(path)
    p = tree["GaussianPolicy"]
    norm = p["obsnorm"]["Standardizer"]
    std = np.sqrt(norm["meansq_1_D"] - norm["mean_1_D"] ** 2)
    obs = rng.normal(size=(7, 4))
    h = (obs - norm["mean_1_D"]) / (std + 1e-6)
    for name in ("layer_0", "layer_2"):  # layer order by index, W stored in x out
        layer = p["hidden"]["FeedforwardNet"][name]["AffineLayer"]
        h = np.tanh(h @ layer["W"] + layer["b"])
    want = h @ p["out"]["AffineLayer"]["W"] + p["out"]["AffineLayer"]["b"]
    np.testing.assert_allclose(policy(obs), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(policy(obs[0]), want[0], rtol=1e-12, atol=1e-12)
    assert (policy.obs_dim, policy.act_dim) == (4, 2)


def test_policy_rejects_bad_observations(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.pkl"
    path.write_bytes(pickle.dumps(_synthetic_expert(np.random.default_rng(1)), protocol=2))
    policy = experts.load_policy(path)
    with pytest.raises(ValueError, match=r"expects observations of shape \[B, 4\]"):
        policy(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        policy(np.full((1, 4), np.nan))


def test_policy_file_of_another_layout(tmp_path: Path) -> None:
    tree = _synthetic_expert(np.random.default_rng(2))
    del tree["GaussianPolicy"]["out"]
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(tree, protocol=2))
    with pytest.raises(ExpertFileError, match="expected key 'out'"):
        experts.load_policy(path)
    tree = _synthetic_expert(np.random.default_rng(2))
    tree["GaussianPolicy"]["hidden"]["FeedforwardNet"]["layer_2"]["AffineLayer"]["W"] = (
        np.zeros((6, 3)))
    path.write_bytes(pickle.dumps(tree, protocol=2))
    with pytest.raises(ExpertFileError, match="do not chain"):
        experts.load_policy(path)


def test_shipped_ant_policy(experts_mirror: Path) -> None:
    policy = experts.load_policy(experts_mirror / "Ant.pkl")
    assert (policy.obs_dim, policy.act_dim) == (111, 8)
    assert [w.shape for w in policy.weights] == [(111, 64), (64, 64), (64, 8)]
    data = experts.load_expert_data("Ant-v4", mirror=experts_mirror)
    with pytest.raises(ValueError, match=r"\[B, 111\], got \(2000, 27\)"):
        policy(data["observations"])
    padded = np.concatenate([data["observations"], np.zeros((2000, 84))], axis=1)
    # The stored actions are the expert's mean actions (stored in float32): this pins the layer
    # order, the W orientation, the normaliser and the zero-padding.
    np.testing.assert_allclose(policy(padded), data["actions"], rtol=0, atol=1e-6)


def test_expert_data(experts_mirror: Path) -> None:
    data = experts.load_expert_data("Ant-v4", mirror=experts_mirror)
    assert data["observations"].shape == (2000, 27) and data["actions"].shape == (2000, 8)
    np.testing.assert_allclose(data["episode_returns"], [4712.60, 4651.18], atol=0.01)
    assert data["terminals"].dtype == bool
    with pytest.raises(ValueError, match="no expert data is published for Humanoid-v4"):
        experts.load_expert_data("Humanoid-v4", mirror=experts_mirror)
    with pytest.raises(ValueError, match="no CS285 expert for environment id 'Ant-v5'"):
        experts.load_expert_data("Ant-v5", mirror=experts_mirror)


# ----------------------------------------------------------------------------- in environments


def test_unknown_env_id(experts_mirror: Path) -> None:
    with pytest.raises(ValueError, match="no CS285 expert for environment id 'Pong-v4'"):
        experts.load_expert("Pong-v4", mirror=experts_mirror)


@pytest.mark.mujoco
def test_ant_zero_padding_is_explicit(experts_mirror: Path) -> None:
    expert = experts.load_expert("Ant-v4", mirror=experts_mirror)
    assert expert.adapters == ("zero-pad observations 27 -> 111",)
    obs = np.random.default_rng(0).normal(size=(3, 27))
    padded = np.concatenate([obs, np.zeros((3, 84))], axis=1)
    np.testing.assert_array_equal(expert(obs), expert.policy(padded))
    with pytest.raises(ValueError, match=r"size 27 but the expert Ant\.pkl expects 111"):
        experts.load_expert("Ant-v4", pad=False, mirror=experts_mirror)


@pytest.mark.mujoco
def test_humanoid_normaliser_mismatch_is_detected(experts_mirror: Path) -> None:
    with pytest.warns(experts.NormaliserMismatchWarning, match=r"11 observation dimensions "
                      r"\[64, 74, 84, 94, 104, 124, 134, 154, 164, 174, 184\]"):
        plain = experts.load_expert("Humanoid-v4", mirror=experts_mirror)
    assert plain.adapters == () and plain.held_dims == ()
    with pytest.warns(experts.NormaliserMismatchWarning, match="holding"):
        held = experts.load_expert("Humanoid-v4", hold_at_training_mean=True,
                                   mirror=experts_mirror)
    assert len(held.held_dims) == 41 and set(held.mismatched_dims) <= set(held.held_dims)
    assert held.adapters == ("hold 41 near-constant dimensions at the training mean",)
    obs = np.random.default_rng(0).normal(size=(2, 376))
    z = held.policy.normalise(held.expert_observations(obs))
    np.testing.assert_allclose(z[:, list(held.held_dims)], 0.0, atol=1e-12)


@pytest.mark.mujoco
def test_humanoid_falls_without_the_adapter_and_stands_with_it(experts_mirror: Path) -> None:
    from rlcheck.imitation import rollout_episodes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experts.NormaliserMismatchWarning)
        plain = experts.load_expert("Humanoid-v4", mirror=experts_mirror)
        held = experts.load_expert("Humanoid-v4", hold_at_training_mean=True,
                                   mirror=experts_mirror)
    fell = rollout_episodes(plain, "Humanoid-v4", 1, 0, max_steps=100)
    assert fell["terminals"][-1] and len(fell["rewards"]) < 30
    stood = rollout_episodes(held, "Humanoid-v4", 1, 0, max_steps=100)
    assert len(stood["rewards"]) == 100 and not stood["terminals"].any()


@pytest.mark.mujoco
def test_expert_dataset_publishes_or_rolls_out_the_adapted_humanoid(experts_mirror: Path) -> None:
    from rlcheck.imitation import expert_dataset

    ant = expert_dataset("Ant-v4", mirror=str(experts_mirror))
    np.testing.assert_allclose(ant["episode_returns"], [4712.60, 4651.18], atol=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", experts.NormaliserMismatchWarning)  # muted: asked for
        humanoid = expert_dataset("Humanoid-v4", mirror=str(experts_mirror), seed=0)
    assert humanoid["observations"].shape == (2000, 376) and humanoid["actions"].shape == (2000, 17)
    assert len(humanoid["episode_returns"]) == 2 and not humanoid["terminals"].any()
    assert humanoid["episode_returns"].min() > 5000  # it walks: as shipped it falls at step ~16
    again = expert_dataset("Humanoid-v4", mirror=str(experts_mirror), seed=0)
    np.testing.assert_array_equal(again["observations"], humanoid["observations"])


# ----------------------------------------------------------------------------- hostile files (#16)


def _peak_bytes(fn: object) -> int:
    """Peak traced memory while running ``fn()`` (exceptions propagate)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _raises_expert_file_error(payload: bytes) -> ExpertFileError:
    with pytest.raises(ExpertFileError) as info:
        experts.safe_load(payload)
    return info.value


def test_shape_only_array_allocates_nothing() -> None:
    """A 32-byte pickle calling numpy.ndarray((64M,)) peaked at 546 MiB."""
    payload = b"cnumpy\nndarray\n(J" + (64 << 20).to_bytes(4, "little") + b"\x85tR."
    assert len(payload) < 40
    peak = _peak_bytes(lambda: _raises_expert_file_error(payload))
    assert peak < 1 << 20
    err = _raises_expert_file_error(payload)
    assert "may not be called directly" in str(err)
    # _reconstruct with a huge shape and 8 bytes of data: refused by the size check, not allocated
    tree = pickle.dumps(np.zeros(1), protocol=2).replace(b"K\x01\x85", b"J\x00\x00\x00\x04\x85")
    assert "needs" in str(_raises_expert_file_error(tree))


def test_huge_memo_index_costs_nothing() -> None:
    """A 9-byte LONG_BINPUT 2^26 peaked at 1 GiB (the C unpickler's memo array)."""
    payload = b"\x80\x02Nr" + (1 << 26).to_bytes(4, "little") + b"."
    assert len(payload) == 9
    assert _peak_bytes(lambda: experts.safe_load(payload)) < 1 << 20


def test_memo_references_are_shared_not_copied() -> None:
    """An array referenced 200 times was copied 200 times (1.65 GB from an 8 MB file)."""
    array = np.arange(1 << 17, dtype=np.float64)  # 1 MiB
    payload = pickle.dumps({"refs": [array] * 200}, protocol=4)
    out: list[object] = []
    peak = _peak_bytes(lambda: out.append(experts.safe_load(payload)))
    refs = out[0]["refs"]  # type: ignore[index]
    assert len(refs) == 200 and all(r is refs[0] for r in refs)
    np.testing.assert_array_equal(refs[0], array)
    assert peak < 6 * array.nbytes


def test_memory_budget_from_file_size_and_absolute_cap() -> None:
    assert experts.load_budget(10) == 16 * 10 + (1 << 20)
    assert experts.load_budget(1 << 40) == experts.MAX_LOAD_BYTES
    payload = pickle.dumps(np.zeros(1 << 17), protocol=4)
    with pytest.raises(ExpertFileError, match="budget of 100000 bytes"):
        experts.safe_load(payload, max_bytes=100_000)


@pytest.mark.parametrize("payload, problem", [
    (b"\x80\x02]q\x00h\x00a.", "contains itself"),  # 9 bytes: a list appended to itself
    (b"\x80\x02}q\x00X\x01\x00\x00\x00kh\x00s.", "contains itself"),
    (b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b".", "nested deeper than"),
    (b"\x80\x02" + b"(" * 5000 + b"t" * 5000 + b".", "nested deeper than"),
])
def test_recursive_and_deep_data_are_named_errors(payload: bytes, problem: str) -> None:
    """A 9-byte self-referential pickle or 5,000 nested containers raised RecursionError."""
    assert problem in str(_raises_expert_file_error(payload))


def test_build_on_codecs_encode_sets_nothing() -> None:
    """BUILD on the allowed _codecs.encode set attributes on rlcheck's function for good."""
    import codecs

    payload = b"c_codecs\nencode\n}X\x08\x00\x00\x00injectedK\x01sb."
    with pytest.raises(UnsafePickleError, match="BUILD may set the state of an unbuilt numpy"):
        experts.safe_load(payload)
    assert not hasattr(codecs.encode, "injected")
    from rlcheck.experts import safe_pickle
    assert not any(hasattr(v, "injected") for v in vars(safe_pickle).values())


@pytest.mark.parametrize("payload, problem", [
    (b"", "not a valid expert pickle"),
    (b".", "stack underflow"),
    (b"\x80\x02}q\x00(X\x01\x00\x00\x00a", "not a valid expert pickle"),
    (b"\x80\x02\xff.", "not a valid expert pickle"),
    (b"\x80\x02}]K\x01s.", "dict key must be a string or number, got list"),
    (b"\x80\x02K\x01)R.", "REDUCE may call only"),
    (b"\x80\x02)K\x01a.", "APPEND needs a list"),
    (b"\x80\x02h\x05.", "memo key 5 used before"),
    (b"\x80\x02(K\x01u.", "SETITEMS needs a dict"),
    (b"\x80\x02}(K\x01u.", "odd number"),
    (b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00V8\x85R.", "unsupported array dtype"),
    (b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00O8\x85R.", "object array"),
    (b"\x80\x02cnumpy\ndtype\n.", "unexpected _Global"),
    (b"\x80\x02N\x81.", "object instantiation"),
    (b"\x80\x02K\x01Q.", "persistent ids"),
])
def test_malformed_pickles_are_named_errors(payload: bytes, problem: str) -> None:
    err = _raises_expert_file_error(payload)
    assert problem in str(err) and str(err).startswith("<bytes>: byte ")


def test_random_corruptions_never_escape_as_other_errors() -> None:
    """Truncations and byte flips of a real layout: a value or ExpertFileError, nothing else."""
    rng = np.random.default_rng(0)
    good = pickle.dumps(_synthetic_expert(rng), protocol=2)
    for _ in range(300):
        data = bytearray(good[: int(rng.integers(1, len(good) + 1))])
        for i in rng.integers(0, len(data), size=int(rng.integers(0, 4))):
            data[i] = int(rng.integers(0, 256))
        try:
            experts.safe_load(bytes(data))
        except ExpertFileError:
            pass


def _write_tree(tmp_path: Path, tree: dict) -> Path:
    path = tmp_path / "tree.pkl"
    path.write_bytes(pickle.dumps(tree, protocol=2))
    return path


def _bad_layer_name(tree: dict) -> None:
    net = tree["GaussianPolicy"]["hidden"]["FeedforwardNet"]
    net["x"] = net.pop("layer_2")


@pytest.mark.parametrize("corrupt, problem", [
    (lambda t: t.__setitem__("nonlin_type", ["tanh"]), "unknown nonlin_type"),
    (_bad_layer_name, "hidden layer name 'x' is not of the form"),
    (lambda t: t["GaussianPolicy"].__setitem__("logstdevs_1_Da", np.zeros((1, 5))),
     "logstdevs_1_Da has 5 entries, the policy has 2 actions"),
    (lambda t: t["GaussianPolicy"]["out"]["AffineLayer"].__setitem__(
        "W", np.ones((3, 2)) * (1 + 1j)), "complex values"),
    (lambda t: t["GaussianPolicy"]["out"]["AffineLayer"].__setitem__("W", "weights"),
     "out/AffineLayer/W must be a numeric array, got str"),
    (lambda t: t["GaussianPolicy"].__setitem__("hidden", [1, 2]), "expected a dict at"),
    (lambda t: t["GaussianPolicy"]["out"]["AffineLayer"].__setitem__(
        "b", np.full((1, 2), np.inf)), "non-finite parameters in layer 2 b"),
])
def test_wrong_layouts_are_named_errors(tmp_path: Path, corrupt: object, problem: str) -> None:
    """Raw messages (int('x'), unhashable list) or silent loads (wrong log-std, complex)."""
    tree = _synthetic_expert(np.random.default_rng(3))
    corrupt(tree)  # type: ignore[operator]
    with pytest.raises(ExpertFileError, match=re.escape(problem)):
        experts.load_policy(_write_tree(tmp_path, tree))


def test_non_finite_observations_are_refused(tmp_path: Path) -> None:
    """An all-inf observation returned NaN actions."""
    policy = experts.load_policy(_write_tree(tmp_path, _synthetic_expert(np.random.default_rng(4))))
    with pytest.raises(ValueError, match=r"non-finite value \(inf\) at index \(0, 0\)"):
        policy(np.full((2, 4), np.inf))


def test_expert_data_of_another_layout(tmp_path: Path) -> None:
    traj = {"observation": np.zeros((3, 2)), "action": np.zeros((3, 1)), "reward": np.zeros(3),
            "next_observation": np.zeros((3, 2)), "terminal": np.zeros(3, bool)}
    from rlcheck.experts.policy import _trajectories

    assert _trajectories([traj, traj], "x")["observations"].shape == (6, 2)
    with pytest.raises(ExpertFileError, match=r"trajectory 0 has arrays of shapes"):
        _trajectories([{**traj, "reward": np.zeros(2)}], "x")
    with pytest.raises(ExpertFileError, match=r"\[0\]/action must be a numeric array"):
        _trajectories([{**traj, "action": "a"}], "x")
    with pytest.raises(ExpertFileError, match="trajectory 1 observations"):
        _trajectories([traj, {**traj, "observation": np.zeros((3, 5)),
                              "next_observation": np.zeros((3, 5))}], "x")


def test_policy_is_loaded_from_the_bytes_that_were_hashed(experts_mirror: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """load_policy hashed the file, then read it again: a file swapped in between was loaded."""
    path = tmp_path / "Hopper.pkl"
    shutil.copy(experts_mirror / "Hopper.pkl", path)
    verify = download.verify_bytes

    def verify_then_swap(data: bytes, name: str, where: str = "") -> bytes:
        out = verify(data, name, where)
        path.write_bytes(pickle.dumps(_synthetic_expert(np.random.default_rng(5)), protocol=2))
        return out

    monkeypatch.setattr(download, "verify_bytes", verify_then_swap)
    policy = experts.load_policy(path)
    assert policy.obs_dim == 11  # Hopper's, not the swapped-in file's 4


# ----------------------------------------------------------------------------- hostile servers


class _Hostile(http.server.BaseHTTPRequestHandler):
    """``/slow/<name>``: 1 byte a second; ``/huge/<name>``: an endless body without length;
    ``/liar/<name>``: announces 10 GB."""

    sent: ClassVar[list[int]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        kind = self.path.strip("/").split("/")[0]
        self.send_response(200)
        if kind == "liar":
            self.send_header("Content-Length", str(10 << 30))
        elif kind == "slow":
            self.send_header("Content-Length", "151322")
        self.end_headers()
        try:
            for _ in range(100_000):
                if kind == "slow":
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1.0)
                else:
                    self.wfile.write(b"\0" * 65536)
                    _Hostile.sent.append(65536)
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.fixture
def hostile_server() -> Iterator[str]:
    _Hostile.sent = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_timeout_is_a_total_deadline(hostile_server: str, tmp_path: Path) -> None:
    """fetch(timeout=3) from a server sending 1 byte/s ran 20 s (the timeout was per read)."""
    start = time.monotonic()
    with pytest.raises(ResourceUnavailable, match="did not finish within 2 s") as info:
        experts.fetch("Ant.pkl", mirror=hostile_server + "/slow", cache=tmp_path, timeout=2)
    assert time.monotonic() - start < 4.0
    assert info.value.fix == experts.MIRROR_FIX
    assert list(tmp_path.iterdir()) == []


def test_size_is_capped_while_streaming(hostile_server: str, tmp_path: Path) -> None:
    """A 200 MB stream was written to the cache in full before its sha256 was checked."""
    with pytest.raises(ChecksumError, match="more than the 151322 bytes"):
        experts.fetch("Ant.pkl", mirror=hostile_server + "/huge", cache=tmp_path, timeout=30)
    assert list(tmp_path.iterdir()) == []
    assert sum(_Hostile.sent) < 8 << 20  # stopped reading early (socket buffers aside)
    with pytest.raises(ChecksumError, match="announces 10737418240 bytes"):
        experts.fetch("Ant.pkl", mirror=hostile_server + "/liar", cache=tmp_path, timeout=30)


def test_partial_files_of_killed_downloads_are_cleaned(http_mirror: tuple[str, Path],
                                                       tmp_path: Path) -> None:
    url, _ = http_mirror
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = cache / ".Ant.pkl.999999999.k3j.part"  # no such pid
    legacy = cache / ".Ant.pkl.x8a1z"  # the old fetch's name for its temporary file
    mine = cache / f".Ant.pkl.{os.getpid()}.a1.part"  # a live download: kept
    for path in (dead, legacy, mine):
        path.write_bytes(b"partial")
    assert experts.fetch("Ant.pkl", mirror=url, cache=cache) == cache / "Ant.pkl"
    assert sorted(p.name for p in cache.iterdir()) == sorted(["Ant.pkl", mine.name])


def test_network_failure_is_resource_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ResourceUnavailable, match=r"cannot fetch Ant\.pkl") as info:
        experts.fetch("Ant.pkl", mirror="http://127.0.0.1:9", cache=tmp_path, timeout=5)
    assert "RLCHECK_EXPERTS_MIRROR" in info.value.fix
    with pytest.raises(ValueError, match="timeout must be a positive"):
        experts.fetch("Ant.pkl", mirror="http://127.0.0.1:9", cache=tmp_path, timeout=0)
