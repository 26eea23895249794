"""shocker-runtime's cgroup limits: on v2 the device rules travel with them (a BPF program
the driver attaches); on v1 they are the devices hierarchy's files instead."""

from __future__ import annotations

from shocker.cgroups.devices import DeviceRule
from shocker.oci import runtime_spec as rs
from shocker.ocicli.cgroups import cgroup_limits

SPEC = rs.Spec(
    root=rs.Root(path="rootfs"),
    process=rs.Process(args=("sh",)),
    linux=rs.Linux(
        devices=(rs.Device(path="/dev/fuse", type="c", major=10, minor=229),),
        resources=rs.Resources(
            devices=(rs.DeviceRule(allow=True, type="c", major=10, minor=200, access="rw"),),
            pids=rs.Pids(limit=64),
        ),
    ),
)


def test_on_v2_the_device_rules_go_with_the_limits_in_order() -> None:
    limits = cgroup_limits(SPEC, v1_devices=False)
    assert limits.pids_max == 64
    assert limits.devices is not None
    assert limits.devices[0] == DeviceRule(allow=False)
    assert limits.devices[1] == DeviceRule(allow=True, type="c", major=10, minor=200, access="rw")
    assert DeviceRule(allow=True, type="c", major=1, minor=3) in limits.devices  # /dev/null
    assert limits.devices[-1] == DeviceRule(allow=True, type="c", major=10, minor=229)


def test_a_spec_without_rules_still_gets_only_the_default_devices_on_v2() -> None:
    bare = rs.Spec(root=rs.Root(path="rootfs"), process=rs.Process(args=("sh",)))
    devices = cgroup_limits(bare, v1_devices=False).devices
    assert devices is not None and devices[0] == DeviceRule(allow=False)
    assert all(rule.allow for rule in devices[1:])


def test_on_v1_the_limits_carry_no_device_rules() -> None:
    assert cgroup_limits(SPEC, v1_devices=True).devices is None
