"""Pending layers: the diff layer `commit` records without making it yet.

Making a layer means a tar of every changed byte, its sha256 (the diff_id), a gzip blob and
that blob's sha256: seconds for a few hundred MB, where the commit itself is two btrfs
snapshots. So commit keeps a read-only snapshot of the container's filesystem, names it in
the image record as a pending entry, and the layer is made from that snapshot and the one
below it when something first needs its bytes or identity (push, save, a build FROM the
image: engine/layered.py `made`). Both snapshots are read-only and the tar is deterministic
(store/layerdiff.py), so the layer made later is the one a commit would have made then.

Why not only hash at commit and compress later: the diff_id alone is a sha256 over the
whole tar, 120 ms for 200 MB at SHA-NI speed on an idle machine (openssl speed, 1.6 GB/s)
and twice that under load: more than the whole commit is allowed.

Until it is made, a pending layer has no diff_id, chain id, digest or size: the image's
config lists the diff_ids of the layers below only (its history already has the step),
and pending entries are always the top of an image's layers (a build or anything else
that puts a layer over one makes it first; a commit over a pending layer adds another).
The snapshot lives among the layer subvolumes as `pending-<key>`, named by the id
`pending:<key>`, so the sweep (store/gc.py) keeps it while a record names it and deletes
it once none does, as for any layer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

PENDING_PREFIX = "pending:"


def new_pending_key() -> str:
    """A fresh key (128 random bits: never reused, so a key names one snapshot ever)."""
    return os.urandom(16).hex()


def pending_entry(key: str, media_type: str, epoch: int | None) -> dict[str, Any]:
    """The image record's layer entry of a pending layer; `epoch` (SOURCE_DATE_EPOCH)
    clamps the tar's mtimes when it is made, as it would have at commit."""
    return {"pending": key, "media_type": media_type, "epoch": epoch}


def is_pending(layer: Mapping[str, Any]) -> bool:
    return isinstance(layer.get("pending"), str)


def layer_id(layer: Mapping[str, Any]) -> str:
    """What names the layer's subvolume: its chain id, or `pending:<key>` (Layout.layer)."""
    if is_pending(layer):
        return PENDING_PREFIX + str(layer["pending"])
    return str(layer["chain_id"])


def made_diff_ids(layers: list[dict[str, Any]]) -> list[str]:
    """The config's rootfs.diff_ids for `layers`: those of the made ones, in order."""
    return [str(layer["diff_id"]) for layer in layers if not is_pending(layer)]
