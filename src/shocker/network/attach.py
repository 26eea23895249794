"""One container's link to the bridge: a veth pair, `eth0` inside the container's network
namespace (found by pid) with its address, MAC and default route, and `lo` up."""

from __future__ import annotations

import _socket
import contextlib
import os
import zlib
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from shocker.errors import NetworkError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.network import netlink
    from shocker.network.config import NetworkConfig

DEFAULT_BRIDGE = "bridge0"
CONTAINER_IFNAME = "eth0"
VETH_PREFIX = "vshk-"


@record(frozen=True)
class Attachment:
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    host_veth: str


def mac_for(ip: IPv4Address) -> str:
    """02:42 then the address's four bytes, as Docker does: 0x02 sets the locally
    administered bit and clears the multicast bit (IEEE 802 universal/local, I/G bits), and
    a MAC that follows the address keeps neighbours' ARP caches right when it is reused."""
    return "02:42:" + ":".join(f"{byte:02x}" for byte in ip.packed)


def host_veth_name(container_id: str, bridge: str = DEFAULT_BRIDGE) -> str:
    """`vshk-58122` for ps-58122 on the default bridge; on another bridge a hash of its name
    is appended (`vshk-58122-1f0c`), so that two installs with the same container id on two
    bridges never clash. At most 15 characters (IFNAMSIZ - 1)."""
    suffix = container_id.rpartition("-")[2] or container_id
    suffix = "".join(c for c in suffix if c.isascii() and c.isalnum())[:5] or "0"
    name = f"{VETH_PREFIX}{suffix}"
    if bridge != DEFAULT_BRIDGE:
        name += f"-{zlib.crc32(bridge.encode()) & 0xFFFF:04x}"
    return name


@contextlib.contextmanager
def _inside_netns(pid: int) -> Iterator[None]:
    """Run the block with this thread in the network namespace of `pid` (setns(2) with
    CLONE_NEWNET acts on the calling thread only), then come back."""
    from shocker.linux.syscalls import CLONE_NEWNET, setns

    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(target, CLONE_NEWNET)
        finally:
            os.close(target)
        try:
            yield
        finally:
            setns(home, CLONE_NEWNET)
    finally:
        os.close(home)


def attach(cfg: NetworkConfig, container_id: str, pid: int, ip: IPv4Address) -> Attachment:
    """Give the network namespace of `pid` an `eth0` on the bridge with address `ip`.

    The namespace must be the container's own (not this process's). Raises NetworkError;
    on failure the host end is removed again.
    """
    from shocker.network import netlink

    ip = IPv4Address(ip)
    mac = mac_for(ip)
    host = host_veth_name(container_id, cfg.bridge)
    try:
        if Path(f"/proc/{pid}/ns/net").samefile("/proc/thread-self/ns/net"):
            raise NetworkError(f"process {pid} has no network namespace of its own")
    except OSError:
        raise NetworkError(f"cannot attach {container_id}: process {pid} is gone") from None
    try:
        master = _socket.if_nametoindex(cfg.bridge)
    except OSError:
        raise NetworkError(
            f"cannot attach {container_id}: bridge {cfg.bridge} does not exist",
            hint="`shocker network prune` removed it; the next `shocker run` creates it",
        ) from None
    interface = IPv4Interface(f"{ip}/{cfg.gateway.network.prefixlen}")
    with netlink.Netlink() as host_link:
        if os.path.lexists(f"/sys/class/net/{host}"):
            # Left by an earlier start of this container whose namespace is still held.
            host_link.send([netlink.delete_link(host)])
        try:
            host_link.check(
                [netlink.new_veth(host, master, CONTAINER_IFNAME, mac, pid)],
                f"create veth {host}",
            )
            with _inside_netns(pid):
                # A netlink socket stays in the namespace it was made in (netlink(7)).
                inner = netlink.Netlink()
                try:
                    loopback = _socket.if_nametoindex("lo")
                    index = _socket.if_nametoindex(CONTAINER_IFNAME)
                except OSError:
                    inner.close()
                    raise
            with inner:
                inner.check(
                    [
                        netlink.set_up(loopback),
                        netlink.set_up(index),
                        netlink.add_address(index, interface),
                        netlink.add_default_route(index, cfg.gateway.ip),
                    ],
                    f"configure {CONTAINER_IFNAME} of {container_id}",
                )
        except OSError as error:
            host_link.send([netlink.delete_link(host)])
            raise NetworkError(f"cannot attach {container_id}: {error.strerror}") from None
    return Attachment(str(ip), interface.network.prefixlen, str(cfg.gateway.ip), mac, host)


def detach(cfg: NetworkConfig, container_id: str, *, wait: bool = False) -> None:
    """Make sure the container's veth pair goes away (deleting one end deletes both).

    Once the container's last process has exited, the kernel destroys its namespace and the
    pair asynchronously; that takes about 20 ms of RCU grace periods, and deleting the veth
    ourselves takes as long. Unless `wait`, the deletion is left to a short-lived grandchild
    process so that a foreground `run --rm` does not wait for it. It deletes by interface
    index, never by name, so the veth of a quick restart of the same container is safe.
    """
    host = host_veth_name(container_id, cfg.bridge)
    try:
        index = int(Path(f"/sys/class/net/{host}/ifindex").read_text())
    except (OSError, ValueError):
        return
    from shocker.network import netlink

    message = netlink.delete_index(index)
    if not wait:
        try:
            _in_grandchild(lambda: _delete(message, host))
        except OSError:
            pass
        else:
            return
    _delete(message, host)


def _delete(message: netlink.Message, host: str) -> None:
    from errno import ENODEV

    from shocker.network import netlink

    with netlink.Netlink() as link:
        (error,) = link.send([message])
    if error not in (0, ENODEV):
        raise NetworkError(f"cannot delete {host}: {os.strerror(error)}")


def _in_grandchild(work: Callable[[], None]) -> None:
    """Run `work` in a grandchild adopted by init and return at once (double fork, as
    daemon(3) does): the child exits immediately and is reaped here, so no zombie stays.
    The grandchild closes every inherited descriptor first: a caller reading our output
    through a pipe must not wait for it."""
    child = os.fork()
    if child == 0:
        try:
            if os.fork() == 0:
                try:
                    os.closerange(0, _max_descriptors())
                    work()
                finally:
                    os._exit(0)
        finally:
            os._exit(0)
    # A caller that reaps every child (SIGCHLD handler) may have reaped it already.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child, 0)


def _max_descriptors() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
