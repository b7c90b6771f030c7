"""Store URLs and partitions: what every process must agree on, checked before any I/O."""

from __future__ import annotations

import pytest

from gateway.store.redis_conn import Durability, StoreMisconfigured, parse_url
from gateway.store.redis_keys import Part, partition_of, partition_of_delivery


def test_defaults_one_partition_on_one_redis_and_sixteen_on_a_cluster() -> None:
    plain = parse_url("redis://h:1/2?prefix=x&partitions=1")
    assert (plain.kind, plain.partitions, plain.prefix) == ("plain", 1, "x")
    assert plain.url == "redis://h:1/2" and plain.durability is Durability.EVERYSEC
    cluster = parse_url("redis+cluster://a:7000,b:7001?durability=replica&wait_ms=50")
    assert (cluster.kind, cluster.partitions, cluster.nodes) == (
        "cluster",
        16,
        (("a", 7000), ("b", 7001)),
    )
    assert cluster.durability is Durability.REPLICA and cluster.wait_ms == 50
    sentinel = parse_url("redis+sentinel://s1,s2:5000/mymaster/3")
    assert sentinel.nodes == (("s1", 26379), ("s2", 5000))
    assert (sentinel.service, sentinel.db, sentinel.partitions) == ("mymaster", 3, 1)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://h/0?prefix={x}", "brace"),
        ("redis://h/0?partitions=0", "partitions=0"),
        ("redis://h/0?durability=always", "durability"),
        ("redis+cluster://h:1/3", "database 0"),
        ("redis+sentinel://h:1", "name the service"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(StoreMisconfigured, match=says):
        parse_url(url)


def test_the_partition_of_a_po_never_changes() -> None:
    """crc32, the same in every process and release (Python's hash() is salted per process):
    changing it would strand every stored PO in the wrong partition."""
    assert [partition_of(p, 16) for p in ["PO-1", "PO0194", "AA-PO-000002", "ü"]] == [6, 5, 13, 5]
    assert partition_of("anything", 1) == 0


def test_keys_carry_their_partition_tag_and_delivery_ids_their_partition() -> None:
    part = Part("pohub", 7)
    keys = [part.due, part.msg("m"), part.line("PO {1}", "leo"), part.po("a:b"), part.seq("x")]
    assert all(k.startswith("pohub:{p7}:") and k.count("{") == 1 for k in keys)
    assert partition_of_delivery("0123abcd-p7", 16) == 7
    assert partition_of_delivery("0123abcd-p7", 4) is None  # not a partition of this store
    assert partition_of_delivery("no-such-id:leo", 16) is None
