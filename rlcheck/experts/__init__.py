"""The CS285 expert policies and expert data: safe parsing, checked fetching, numpy inference.

One module per concern, every public name importable from ``rlcheck.experts``:

* :mod:`rlcheck.experts.safe_pickle` parses the course's pickles without running them, within a
  memory budget from the file size (:func:`safe_load`);
* :mod:`rlcheck.experts.download` names the published files, their digests and sizes, and
  fetches them into a user cache with a deadline and a size cap (:func:`fetch`);
* :mod:`rlcheck.experts.policy` turns a parsed file into an :class:`ExpertPolicy` and adapts it
  to a gymnasium environment (:func:`load_expert`, :func:`load_expert_data`).
"""

from rlcheck.experts.download import (
    CACHE_ENV_VAR,
    DATA_URL,
    EXPERT_ENVS,
    MIRROR_ENV_VAR,
    MIRROR_FIX,
    POLICY_URL,
    SHA256,
    SIZES,
    ChecksumError,
    cache_dir,
    clean_partial_files,
    data_file,
    fetch,
    policy_file,
    read_verified,
    sha256_file,
    verify_bytes,
    verify_file,
)
from rlcheck.experts.policy import (
    MISMATCH_Z,
    NEAR_CONSTANT_STD,
    Expert,
    ExpertPolicy,
    NormaliserMismatchWarning,
    load_expert,
    load_expert_data,
    load_policy,
    near_constant_dims,
    normaliser_mismatch,
)
from rlcheck.experts.safe_pickle import (
    MAX_FILE_BYTES,
    MAX_LOAD_BYTES,
    MAX_NESTING,
    ExpertFileError,
    UnsafePickleError,
    load_budget,
    safe_load,
)

__all__ = [
    "CACHE_ENV_VAR",
    "DATA_URL",
    "EXPERT_ENVS",
    "MAX_FILE_BYTES",
    "MAX_LOAD_BYTES",
    "MAX_NESTING",
    "MIRROR_ENV_VAR",
    "MIRROR_FIX",
    "MISMATCH_Z",
    "NEAR_CONSTANT_STD",
    "POLICY_URL",
    "SHA256",
    "SIZES",
    "ChecksumError",
    "Expert",
    "ExpertFileError",
    "ExpertPolicy",
    "NormaliserMismatchWarning",
    "UnsafePickleError",
    "cache_dir",
    "clean_partial_files",
    "data_file",
    "fetch",
    "load_budget",
    "load_expert",
    "load_expert_data",
    "load_policy",
    "near_constant_dims",
    "normaliser_mismatch",
    "policy_file",
    "read_verified",
    "safe_load",
    "sha256_file",
    "verify_bytes",
    "verify_file",
]
