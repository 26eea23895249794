"""Writing the records of shocker.oci.runtime_spec back as config.json, leaving out what is
unset so the document reads like runc's."""

from __future__ import annotations

from shocker import leanjson
from shocker.oci.runtime_spec import (
    IdMapping,
    Linux,
    Process,
    Resources,
    Spec,
)
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def _compact(pairs: dict[str, Any]) -> dict[str, Any]:
    """Leave out what is unset (None, empty) so the document reads like runc's."""
    return {k: v for k, v in pairs.items() if v not in (None, "", (), [], {})}


def _process_json(p: Process) -> dict[str, Any]:
    user = _compact(
        {"uid": p.user.uid, "gid": p.user.gid, "umask": p.user.umask}
        | {"additionalGids": list(p.user.additional_gids)}
    )
    user.setdefault("uid", 0)
    user.setdefault("gid", 0)
    caps = None
    if p.capabilities is not None:
        c = p.capabilities
        caps = _compact(
            {
                "bounding": list(c.bounding),
                "effective": list(c.effective),
                "inheritable": list(c.inheritable),
                "permitted": list(c.permitted),
                "ambient": list(c.ambient),
            }
        ) or {"bounding": []}
    return _compact(
        {
            "terminal": p.terminal or None,
            "consoleSize": {"height": p.console_size.height, "width": p.console_size.width}
            if p.console_size
            else None,
            "user": user,
            "args": list(p.args),
            "env": list(p.env),
            "cwd": p.cwd,
            "capabilities": caps,
            "rlimits": [{"type": r.type, "hard": r.hard, "soft": r.soft} for r in p.rlimits],
            "noNewPrivileges": p.no_new_privileges or None,
            "oomScoreAdj": p.oom_score_adj,
        }
    )


def _resources_json(r: Resources) -> dict[str, Any]:
    devices = [
        _compact(
            {"allow": d.allow, "type": d.type, "major": d.major, "minor": d.minor}
            | {"access": d.access}
        )
        for d in r.devices
    ]
    memory = cpu = None
    if r.memory is not None:
        m = r.memory
        memory = _compact(
            {"limit": m.limit, "reservation": m.reservation, "swap": m.swap}
            | {"swappiness": m.swappiness, "disableOOMKiller": m.disable_oom_killer}
        )
    if r.cpu is not None:
        c = r.cpu
        cpu = _compact(
            {"shares": c.shares, "quota": c.quota, "period": c.period}
            | {"cpus": c.cpus, "mems": c.mems}
        )
    return _compact(
        {
            "devices": devices,
            "memory": memory,
            "cpu": cpu,
            "pids": {"limit": r.pids.limit} if r.pids else None,
        }
    )


def _linux_json(x: Linux) -> dict[str, Any]:
    def mappings(items: tuple[IdMapping, ...]) -> list[dict[str, int]]:
        return [{"containerID": m.container_id, "hostID": m.host_id, "size": m.size} for m in items]

    return _compact(
        {
            "namespaces": [_compact({"type": n.type, "path": n.path}) for n in x.namespaces],
            "uidMappings": mappings(x.uid_mappings),
            "gidMappings": mappings(x.gid_mappings),
            "devices": [
                _compact(
                    {"path": d.path, "type": d.type, "major": d.major, "minor": d.minor}
                    | {"fileMode": d.file_mode, "uid": d.uid, "gid": d.gid}
                )
                for d in x.devices
            ],
            "resources": _resources_json(x.resources) if x.resources else None,
            "cgroupsPath": x.cgroups_path,
            "sysctl": dict(x.sysctl),
            "seccomp": x.seccomp.to_json() if x.seccomp else None,
            "maskedPaths": list(x.masked_paths),
            "readonlyPaths": list(x.readonly_paths),
            "rootfsPropagation": x.rootfs_propagation,
        }
    )


def to_json(spec: Spec) -> dict[str, Any]:
    """The Spec as a config.json document (parse(to_json(s)) == s)."""
    document: dict[str, Any] = {"ociVersion": spec.oci_version}
    if spec.process is not None:
        document["process"] = _process_json(spec.process)
    document["root"] = _compact({"path": spec.root.path, "readonly": spec.root.readonly or None})
    document.update(
        _compact(
            {
                "hostname": spec.hostname,
                "domainname": spec.domainname,
                "mounts": [
                    _compact(
                        {"destination": m.destination, "type": m.type, "source": m.source}
                        | {"options": list(m.options)}
                    )
                    for m in spec.mounts
                ],
                "linux": _linux_json(spec.linux),
                "annotations": dict(spec.annotations),
            }
        )
    )
    return document


def dumps(spec: Spec) -> str:
    # Compact: every start writes one, and json's C encoder does not indent (with indent=2
    # the text of a default container took 0.35 ms instead of 0.07); leanjson's printer is
    # that encoder without the json package (shocker.leanjson).
    return leanjson.dumps(to_json(spec), separators=(",", ":")) + "\n"
