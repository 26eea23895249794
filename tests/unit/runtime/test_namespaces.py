"""The spec's user namespace as the runtime reads it: its mappings and container root's host ids."""

from __future__ import annotations

from shocker.oci import runtime_spec as rs
from shocker.runtime.namespaces import mappings, root_owner


def spec(*namespaces: str, uid: int = 100000, gid: int = 200000) -> rs.Spec:
    return rs.Spec(
        root=rs.Root(path="/r"),
        linux=rs.Linux(
            namespaces=tuple(rs.Namespace(type=kind) for kind in namespaces),
            uid_mappings=(rs.IdMapping(container_id=0, host_id=uid, size=65536),),
            gid_mappings=(rs.IdMapping(container_id=0, host_id=gid, size=65536),),
        ),
    )


def test_mappings_are_the_lines_of_uid_map_and_gid_map() -> None:
    assert mappings(spec("user")) == ([(0, 100000, 65536)], [(0, 200000, 65536)])


def test_container_root_is_the_host_ids_mapped_to_0() -> None:
    assert root_owner(spec("mount", "user")) == (100000, 200000)


def test_no_user_namespace_no_owner() -> None:
    assert root_owner(spec("mount")) is None
