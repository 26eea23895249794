"""`run --explain`: the recipe of a container as plain Linux commands, built from the plan
`run` follows — the same container record, runtime spec (engine/bundle.py), cgroup writes,
network addresses and confinement sequence (runtime/sequence.py) — with nothing created.

Sections, in the order a start takes: the root filesystem (a btrfs snapshot) and the
metadata directory, the cgroup, the host's bridge, the namespaces (a shell in new ones), the
container's veth, then the sequence inside that shell (runtime/recipe.py).
"""

from __future__ import annotations

import shlex
from ipaddress import IPv4Address

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shocker.engine.launch import PreparedNetwork
    from shocker.engine.options import RunOptions
    from shocker.network.config import NetworkConfig
    from shocker.oci import runtime_spec as rs
    from shocker.runtime.plan import CgroupFs
    from shocker.settings import Settings
    from shocker.store.container_config import ContainerConfig
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

# unshare(1) options for the spec's namespace types; pid needs --fork to have a pid 1.
_UNSHARE = {
    "pid": "--pid --fork",
    "ipc": "--ipc",
    "uts": "--uts",
    "mount": "--mount",
    "network": "--net",
    "cgroup": "--cgroup",
}
_NSENTER = {"ipc": "ipc", "uts": "uts", "mount": "mount", "network": "net", "cgroup": "cgroup"}

NAMESPACES_HEADING = "# namespaces"
INSIDE_HEADING = "# inside the container's namespaces"


def q(word: str) -> str:
    return shlex.quote(word)


def explain(store: Store, settings: Settings, options: RunOptions) -> str:
    """The recipe as text. Raises NotFound for an image not held here (nothing is pulled)."""
    from shocker.engine import bundle
    from shocker.engine.create import container_config, now
    from shocker.engine.launch import container_mounts, etc_files
    from shocker.record import replace
    from shocker.runtime import recipe, sequence
    from shocker.runtime.plan import mount_plan
    from shocker.store.containers import ContainerRecord
    from shocker.store.ids import new_id

    image = store.images.resolve(options.image)
    config, seccomp = container_config(store, settings, image, options, make_volumes=False)
    layout = store.layout
    container_id = new_id(
        "ps", lambda c: layout.container_dir(c).exists() or layout.container_rootfs(c).exists()
    )
    config = replace(config, hostname=config.hostname or container_id)
    record = ContainerRecord(
        id=container_id,
        name=options.name,
        image_id=image.id,
        image=image.reference or image.id,
        command=list(config.argv),
        created=now(),
        config=config,
    )
    network = _network(store, settings, record)
    directory = layout.container_dir(container_id)
    etc = etc_files(directory, record, network)
    mounts = container_mounts(record, {dest: path for dest, (path, _) in etc.items()})
    mode = network.mode
    parent = settings.cgroup_parent
    spec = bundle.build(
        store,
        record,
        network_namespace="new" if mode in ("bridge", "none") else mode,
        extra_mounts=tuple(mounts),
        cgroups_path=f"/{parent}/{container_id}",
        seccomp=seccomp,
        user_root=layout.image_rootfs(image.id),
        idmapped_root=bool(config.runtime),
    )
    cgroup_lines, binds = _cgroup(settings, container_id, config)
    rootfs = str(layout.container_rootfs(container_id))
    # /sys/fs/cgroup as shocker's own runtime makes it: each of the host's hierarchies bound
    # at the container's cgroup in it (shocker-runtime binds only the container's own).
    steps = mount_plan(
        spec, binds, _cgroup_filesystems(settings, binds, f"/{parent}/{container_id}")
    )
    plan = sequence.init_steps(spec, rootfs, steps, b"" if spec.linux.seccomp else None)
    note = ""
    if spec.linux.seccomp is not None:
        profile = spec.linux.seccomp
        note = f"linux.seccomp: {len(profile.syscalls)} rules, default {profile.default_action}"

    out = [
        f"# shocker run --explain: the recipe of {container_id} ({record.image}) as plain "
        "commands, from the plan `run` follows; nothing was run or created",
        "",
        "# root filesystem: a writable snapshot of the image; metadata beside it",
        f"btrfs subvolume snapshot {q(str(layout.image_rootfs(image.id)))} {q(rootfs)}",
        f"mkdir -p {q(str(directory))}",
    ]
    for path, text in etc.values():
        out += [f"cat > {q(str(path))} <<'EOF'", *text.rstrip("\n").split("\n"), "EOF"]
    out += ["", *cgroup_lines]
    if network.cfg is not None:
        out += ["", *_bridge(network.cfg)]
    out += ["", *_namespaces(spec)]
    if network.cfg is not None and network.ip is not None:
        out += ["", *_veth(record, network.cfg, network.ip, network.mac)]
    out += ["", INSIDE_HEADING + " (the shell unshare started)"]
    network_ns = spec.linux.namespace("network")
    if network_ns is not None and not network_ns.path:
        out.append("ip link set lo up")
    files = frozenset(str(path) for path, _ in etc.values())
    out += recipe.render(plan, seccomp_note=note, files=files)
    return "\n".join(out) + "\n"


def _network(store: Store, settings: Settings, record: ContainerRecord) -> PreparedNetwork:
    """As launch.prepare_network decides it, reserving nothing: the lowest free address."""
    from shocker.engine.launch import PreparedNetwork, shared_network

    mode = record.config.network
    shared = shared_network(store, mode)
    if shared is not None:
        return shared
    from shocker.network import ipam
    from shocker.network.attach import mac_for
    from shocker.network.config import NetworkConfig

    cfg = NetworkConfig.from_settings(settings, store.layout.network)
    used = {IPv4Address(a) for a in ipam.addresses(cfg).values()}
    requested = record.config.ip
    ip = ipam.choose_address(
        cfg.gateway, used, ipam.parse_requested(requested) if requested else None
    )
    return PreparedNetwork("bridge", ip=ip, mac=mac_for(ip), cfg=cfg)


def _cgroup(
    settings: Settings, container_id: str, config: ContainerConfig
) -> tuple[list[str], list[tuple[str, str]]]:
    """The writes launch.create_cgroup makes, and the container's cgroup directories as the
    /sys/fs/cgroup mount binds them."""
    from shocker.cgroups import detect
    from shocker.engine.launch import cgroup_limits

    driver: Any = detect(settings.cgroup_root)
    limits = cgroup_limits(config)
    parent = settings.cgroup_parent
    cgroup = driver.open(parent, container_id)
    if driver.version == 1:
        directories = list(dict.fromkeys(cgroup.dirs.values()))
        writes = cgroup.limit_writes(limits, memsw=driver.swap_accounting())
        root = settings.cgroup_root
        binds = [(f"/sys/fs/cgroup/{_hierarchy(root, d)}", str(d)) for d in directories]
    else:
        directories = [cgroup.directory]
        available = set((settings.cgroup_root / "cgroup.controllers").read_text().split())
        writes = cgroup.limit_writes(limits, available, swap=_v2_swap(settings.cgroup_root))
        binds = [("/sys/fs/cgroup", str(cgroup.directory))]
    lines = [
        f"# cgroup (v{driver.version}): limits, then this shell joins it, so that every "
        "process started from it below is in the container's cgroup"
    ]
    lines += [f"mkdir -p {q(str(d))}" for d in directories]
    lines += [f"echo {q(value)} > {q(str(path))}  # {what}" for path, value, what in writes]
    if limits.devices is not None and driver.version == 2:
        lines.append(
            "# device rules: no file takes them on v2; shocker attaches a BPF cgroup-device "
            "program allowing only: " + ", ".join(r.line() for r in limits.devices if r.allow)
        )
    lines += [f"echo $$ > {q(str(d / 'cgroup.procs'))}" for d in directories]
    return lines, binds


def _cgroup_filesystems(
    settings: Settings, binds: list[tuple[str, str]], cgroup: str
) -> list[CgroupFs]:
    """The host's /sys/fs/cgroup as `run` shows it: the container's `cgroup` as the root of
    the hierarchies it joins (`binds`, as _cgroup gives them), this process's in the rest."""
    from shocker.runtime.plan import CgroupFs
    from shocker.runtime.rootfs import host_cgroup_filesystems, own_cgroups

    v2 = str(settings.cgroup_root).removeprefix("/sys/fs/cgroup").strip("/")
    joined = {v2 if t == "/sys/fs/cgroup" else t.removeprefix("/sys/fs/cgroup/") for t, _ in binds}
    return [
        CgroupFs(fs.path, fs.fstype, fs.data, cgroup if fs.path in joined else fs.cgroup)
        if fs.fstype in ("cgroup", "cgroup2")
        else fs
        for fs in host_cgroup_filesystems(own_cgroups())
    ]


def _hierarchy(root: Path, directory: Path) -> str:
    """The hierarchy's name below the cgroup root (memory, cpu,cpuacct)."""
    return directory.relative_to(root).parts[0]


def _v2_swap(root: Path) -> bool:
    return any(p.name == "memory.swap.max" for p in root.glob("*/memory.swap.max"))


def _bridge(cfg: NetworkConfig) -> list[str]:
    from shocker.network.attach import mac_for
    from shocker.network.rules import Chains, host_rules

    chains = Chains(cfg.chain_prefix)
    lines = [
        f"# the host's bridge {cfg.bridge} and its NAT, once per host (shocker adds only "
        "what is missing)",
        f"ip link add {cfg.bridge} address {mac_for(cfg.gateway.ip)} type bridge",
        f"ip addr add {cfg.gateway} dev {cfg.bridge}",
        f"ip link set {cfg.bridge} up",
        "sysctl -w net.ipv4.ip_forward=1",
        f"sysctl -w net.ipv4.conf.{cfg.bridge}.route_localnet=1",
    ]
    for table, names in chains.by_table().items():
        lines += [f"iptables -t {table} -N {name}" for name in names]
    for table, rules in host_rules(cfg).items():
        for rule in rules:
            chain = rule.split()[1]
            if chain in ("FORWARD", "INPUT"):
                rule = f"-I {chain} 1 " + rule.split(maxsplit=2)[2]
            lines.append(f"iptables -t {table} {rule}")
    return lines


def _namespaces(spec: rs.Spec) -> list[str]:
    """unshare(1) for the new namespaces, nsenter(1) before it for those joined by path."""
    joined = [f"--{_NSENTER[n.type]}={q(n.path)}" for n in spec.linux.namespaces if n.path]
    fresh = [_UNSHARE[n.type] for n in spec.linux.namespaces if not n.path]
    # pid first: --fork makes the shell pid 1 of the new one.
    fresh.sort(key=lambda option: option != "--pid --fork")
    command = f"unshare {' '.join(fresh)} sh"
    if joined:
        command = f"nsenter {' '.join(joined)} {command}"
    return [
        NAMESPACES_HEADING + ": a shell in the container's own; everything from "
        '"inside" on runs in it',
        command,
    ]


def _veth(record: ContainerRecord, cfg: NetworkConfig, ip: IPv4Address, mac: str) -> list[str]:
    from shocker.network.attach import CONTAINER_IFNAME, host_veth_name
    from shocker.network.ports import from_exposed, parse_publish
    from shocker.network.rules import port_rules

    host = host_veth_name(record.id, cfg.bridge)
    prefix = cfg.gateway.network.prefixlen
    inside = "nsenter --net=/proc/$PID/ns/net"
    lines = [
        "# its network, from a host shell (PID: the pid of that shell as the host sees it): "
        f"a veth pair, {host} on the bridge, {CONTAINER_IFNAME} inside",
        f"ip link add {host} type veth peer name {CONTAINER_IFNAME} address {mac} netns $PID",
        f"ip link set {host} master {cfg.bridge} up",
        f"{inside} ip link set {CONTAINER_IFNAME} up",
        f"{inside} ip addr add {ip}/{prefix} dev {CONTAINER_IFNAME}",
        f"{inside} ip route add default via {cfg.gateway.ip}",
    ]
    config = record.config
    wanted = [parse_publish(p) for p in config.publish]
    if config.publish_all:
        wanted += from_exposed(config.exposed_ports)
    for mapping in wanted:
        if mapping.host_port == 0:
            lines.append(f"# -p {mapping.container_port}: a free host port, chosen at start")
            continue
        for table, rules in port_rules(cfg, record.id, str(ip), mapping).items():
            lines += [f"iptables -t {table} {rule}" for rule in rules]
    return lines
